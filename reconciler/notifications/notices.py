"""Key notices: "your key is ready", "rotated, the old key works until …", "revoked".

They are derived from state, not from what one run did: after every apply (and every nightly
rotation) each user's current key, as the key store names it, is compared with the last key
event the ledger recorded for them. So a notice whose send failed is simply built again by the
next run, and a run that changed nothing sends nothing. Messages name where the key is and how to
read it; they never contain it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from reconciler.desired.policy import BUDGET_TZ, DesiredState, User
from reconciler.live.keystore import HASH_TAG
from reconciler.live.state import LiveState, live_key
from reconciler.notifications import notify
from reconciler.plan import rotation

TOPIC = "key"
DEFAULT_GUIDE = "docs/using-the-gateway.md in the llm-gateway-gitops repository"


@dataclass(frozen=True)
class Context:
    secret_prefix: str
    region: str
    guide: str


def _event(token: str) -> str:
    return f"{TOPIC}:{token[:16]}"  # a prefix of the key's sha256 names the key, reveals nothing of it


def _tier_line(desired: DesiredState, user: User) -> str:
    tier = desired.tiers[user.tier]
    return (f"Your tier is {tier.display_name}: model {', '.join(tier.models)}, "
            f"${tier.monthly_budget_usd:.2f} a month, {tier.rpm_limit} requests a minute.")


def _where(ctx: Context, user_id: str) -> str:
    name = ctx.secret_prefix + user_id
    return (f"It is stored in AWS Secrets Manager as {name} (region {ctx.region}). Read it with\n\n"
            f"    gatewayctl key show --me --reveal\n\n"
            f"or: aws secretsmanager get-secret-value --region {ctx.region} --secret-id {name} "
            "--query SecretString --output text | jq -r .api_key\n\n"
            f"How to use it with Claude Code, the SDKs and your IDE: {ctx.guide}")


FOOTER = ("\n\nThis message never contains the key itself. You receive it because you are the user or "
          "the approving owner of this grant.\n-- gatewayctl (llm-gateway-gitops)")


def _active_key_message(desired: DesiredState, live: LiveState, ledger: notify.Ledger, ctx: Context,
                        user: User) -> notify.Message | None:
    token = live.secrets.get(user.id)
    keys = live.managed_keys(user.id)
    if not token or token not in {k.token for k in keys}:
        return None  # not delivered yet (or half way): the run that finishes the delivery announces it
    event = _event(token)
    last = ledger.last(user.id, TOPIC)  # when it equals `event`, deliver() counts the message as already sent
    retiring = [k for k in keys if k.token != token and rotation.retire_after(k) is not None]
    greeting = f"Hello {user.name},\n\n"
    if retiring:
        until = max(rotation.retire_after(k) for k in retiring)
        subject = "Your LLM gateway key was rotated"
        text = (f"your key for the LLM gateway was rotated. Your previous key keeps working until the end of "
                f"{until} ({BUDGET_TZ.key}); after that the gateway refuses it. Switch your tools to the new key "
                "before then.")
    elif last is None or not last.startswith(f"{TOPIC}:"):
        subject = "Your LLM gateway key is ready"
        text = "your key for the LLM gateway is ready."
    else:
        subject = "Your LLM gateway key was replaced"
        text = "your key for the LLM gateway was replaced; the previous key no longer works."
    body = f"{greeting}{text[0].upper()}{text[1:]} {_tier_line(desired, user)}\n\n{_where(ctx, user.id)}{FOOTER}"
    return notify.Message(user.id, TOPIC, event, (user.email,), (user.owner,), subject, body)


def _revoked_message(live: LiveState, ledger: notify.Ledger, user_id: str,
                     user: User | None) -> notify.Message | None:
    last = ledger.last(user_id, TOPIC)
    if last is None or not last.startswith(f"{TOPIC}:"):
        return None  # never told about a key (or already told it is revoked)
    lu = live.users.get(user_id)
    email = user.email if user else (lu.email if lu else None)
    owner = user.owner if user else (lu.metadata.get("owner") if lu else None)
    if not email:
        return None
    name = user.name if user else ((lu.alias if lu else None) or user_id)
    why = f"your access expired on {user.expires}" if user and user.expires else "your grant was removed from users/"
    body = (f"Hello {name},\n\nYour LLM gateway key was revoked ({why}). Calls with it now fail with HTTP 401.\n\n"
            f"If you still need access, ask your manager and open a pull request that adds users/{user_id}.yaml "
            "(see the runbook, \"Add a user\")." + FOOTER)
    return notify.Message(user_id, TOPIC, "revoked:" + last.removeprefix(f"{TOPIC}:"), (email,),
                          (owner,) if owner else (), "Your LLM gateway key was revoked", body)


def key_messages(desired: DesiredState, live: LiveState, ledger: notify.Ledger, ctx: Context,
                 today: dt.date) -> list[notify.Message]:
    """Every key notice the current state calls for and the ledger has not recorded."""
    out: list[notify.Message] = []
    active = {uid: u for uid, u in desired.users.items() if not u.expired(today)}
    for uid in sorted(active):
        message = _active_key_message(desired, live, ledger, ctx, active[uid])
        if message:
            out.append(message)
    for uid in sorted(set(live.secrets) - set(active)):
        if uid.startswith("gatewayctl-") or live.managed_keys(uid):
            continue  # service accounts get no mail; keys still live: the revocation has not run yet
        message = _revoked_message(live, ledger, uid, desired.users.get(uid))
        if message:
            out.append(message)
    return out


def targets(plan, store, desired: DesiredState, today: dt.date) -> tuple[set[str], int]:
    """Whose notices this run can change: the users the plan acts on, and those the listing the plan read
    shows a notice due for (e.g. one whose send failed): a key the ledger never announced, or a grant
    gone whose revocation it never announced. A scoped deploy lists only its users; the nightly rotation
    lists every secret and so retries the others. Also how many listed users the ledger shows already
    told of their current key (reported as skipped)."""
    out = {a.target.removeprefix("user:") for a in plan.actions if a.target.startswith("user:")}
    told = set()
    for uid, tags in store.tags.items():
        sha = tags.get(HASH_TAG, "pending")  # "pending": a write cut short, which the plan repairs
        last = notify.ledger_of(tags).get(TOPIC)
        if last == "revoked:" + sha[:16]:
            continue
        active = uid in desired.users and not desired.users[uid].expired(today)
        if not active and not (last or "").startswith(f"{TOPIC}:"):
            continue  # never told of a key: no revocation notice to send
        (told if active and last == _event(sha) else out).add(uid)
    return out, len(told - out)


def state_after(client, store, user_ids: set[str], planned: LiveState, plan, results) -> LiveState:
    """The state after the apply, of these users only, without reading the gateway again: the rows and
    keys the plan read, changed by what each action did (its key writes, from its steps and the hashes
    the executor minted), and their secrets (whose listing also refreshes the ledger's tags). An action
    that failed part way left an unknown state: only its users are read back (rows and keys)."""
    from reconciler.live.state import read_user_keys, read_users
    from reconciler.plan.steps import Op

    outcome = {r.target: r for r in results}
    steps = {a.target.removeprefix("user:"): a.steps for a in plan.actions if a.target.startswith("user:")}
    unknown = {uid for uid in user_ids if uid in steps and getattr(outcome.get("user:" + uid), "status", "") != "ok"}
    state = LiveState()
    state.users = {uid: planned.users[uid] for uid in user_ids - unknown if uid in planned.users}
    state.users.update(read_users(client, unknown) if unknown else {})
    keys = []
    for uid in sorted(user_ids):
        if uid in unknown:
            keys += read_user_keys(client, uid) if uid in state.users else []
            continue
        held = {k.token: k for k in planned.managed_keys(uid)}
        minted = iter(outcome["user:" + uid].key_hashes_created if uid in steps else ())
        for step in steps.get(uid, ()):
            if step.op == Op.KEY_DELETE:
                for token in step.args["keys"]:
                    held.pop(token, None)
            elif step.op == Op.KEY_UPDATE and step.args["key"] in held:
                k = held[step.args["key"]]
                held[k.token] = dataclasses.replace(k, alias=step.args.get("key_alias", k.alias),
                                                    metadata=step.args.get("metadata", k.metadata))
            elif step.op == Op.KEY_CREATE:
                created = live_key({**step.args, "token": next(minted)})
                held[created.token] = created
        keys += held.values()
    state.keys = keys
    state.secrets = store.inventory_of(user_ids)
    state.retiring = dict(store.retiring)
    return state


def after_apply(channel: notify.Channel, ctx, reviewed, results, *, guide_url: str | None) -> notify.Outcome:
    """Build and deliver the notices the state after an apply calls for, for the plan's targets
    (targets()) as the plan read them and the apply changed them (state_after()). Never raises: a
    problem is returned as a failure in the outcome, and the next run tries again."""
    try:
        store, plan = ctx.store, reviewed.plan
        ids, told = targets(plan, store, ctx.desired, ctx.today)
        live = state_after(ctx.client, store, ids, reviewed.live, plan, results)
        ledger = notify.SecretTagLedger(store.prefix, listed=store.tags)
        notice = Context(store.prefix, ctx.desired.region, guide_url or DEFAULT_GUIDE)
        messages = key_messages(ctx.desired, live, ledger, notice, ctx.today)
    except Exception as exc:  # noqa: BLE001 - notices never fail the apply
        return notify.Outcome(channel.describe(), failed=[f"could not work out notices: {type(exc).__name__}: "
                                                          f"{notify._redact(str(exc))}"])
    outcome = notify.deliver(messages, channel, ledger)
    outcome.skipped += told
    return outcome
