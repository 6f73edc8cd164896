set -eu
# Creates/updates the LiteLLM application role. Idempotent. Runs as the RDS master
# user inside a one-off ECS task; the password comes from Secrets Manager via the
# task definition "secrets" and is passed to psql as a variable (not on argv).
psql -v ON_ERROR_STOP=1 -v app_user="$APP_USERNAME" -v app_pw="$APP_PASSWORD" -v db="$PGDATABASE" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'app_user')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_user')\gexec
ALTER ROLE :"app_user" WITH LOGIN PASSWORD :'app_pw';
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"app_user";
GRANT USAGE, CREATE ON SCHEMA public TO :"app_user";
SQL
echo "db-bootstrap: role ready"
