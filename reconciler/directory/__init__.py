"""The nightly directory check (`gatewayctl directory-check`): users/ against IAM Identity Center's
Identity Store. `identitystore` reads the directory, `compare` finds the differences, `command` wires
them to the CLI and writes the report that scripts/ci/directory-pr turns into one pull request."""
