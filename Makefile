# One command to run, one to test. uv is used if present, otherwise bootstrapped into .tools/.
SHELL := /bin/bash
PORT ?= 8000
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
RUN := $(UV) run --frozen
PYTEST_ARGS ?=
FUZZ_ARGS ?=

ENV ?= dev
TF_DIR = terraform/environments/$(ENV)

.PHONY: help install run test lint fmt check migrate seed audit bench bench-report bench-waiting-list fuzz frontend apply deploy dev prod-deploy info logs destroy env-file

help:
	@echo "make run    - install, migrate, seed demo data, serve http://localhost:$(PORT) (emails in .local/mail/)"
	@echo "make test   - every test (on a private PostgreSQL in .local/pgdata unless DATABASE_URL is set)"
	@echo "make lint   - ruff check, format check and mypy"
	@echo "make fmt    - format and autofix"
	@echo "make bench  - benchmark on PostgreSQL with in-run baselines (BENCH_ARGS=--scale 1000000)"
	@echo "make bench-report - the practice report on a year of data for 50 practices"
	@echo "make bench-waiting-list - 500 waiting patients, a burst of 50 cancellations"
	@echo "make fuzz   - Schemathesis against a live server, as patient and staff (FUZZ_ARGS=--max-examples 50)"
	@echo "make frontend - refresh core/static/nhsuk from the pinned nhsuk-frontend (frontend/package.json)"
	@echo "make apply ENV=dev|staging|prod - terraform init and apply the environment"
	@echo "make deploy ENV=dev|staging - build, push, migrate, roll out, smoke test"
	@echo "make dev                    - deploy to dev, load the demo data there, print the URL and logins"
	@echo "make prod-deploy            - the same for prod, after a typed confirmation"
	@echo "make info ENV=...           - the environment's outputs (API URL, Cognito ids...)"
	@echo "make logs ENV=...           - follow the web service's logs"
	@echo "make destroy ENV=...        - tear the environment down, after a typed confirmation"

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv

install: $(UV)
	$(UV) sync --frozen

migrate: install
	$(RUN) python manage.py migrate --noinput

seed: migrate
	$(RUN) python manage.py seed_data

# The notifications worker runs beside the server, so the emails the service sends (a
# sign-up's confirmation link, a password reset) arrive: locally, as files in .local/mail/.
run: seed
	@$(RUN) python manage.py notifications_worker & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	  $(RUN) python manage.py runserver 127.0.0.1:$(PORT)

check: install
	$(RUN) python manage.py check

test: check
	$(RUN) pytest $(PYTEST_ARGS)

# The offline stand-in for `terraform validate` (every resource, argument and block against the
# AWS provider's schema): ../shared/tools/tfcheck on the project's machines, or TFCHECK=...
TFCHECK ?= $(firstword $(wildcard ../shared/tools/tfcheck/run /work/shared/tools/tfcheck/run))

lint: install
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy
	@set -o pipefail; if [ -n "$(TFCHECK)" ]; then $(TFCHECK) terraform 2>&1 | grep -v "^WARNING: Location"; \
	elif command -v terraform >/dev/null; then terraform fmt -check -recursive terraform && \
	  echo "tfcheck not found (set TFCHECK): Terraform checked for format only"; \
	else echo "Neither tfcheck nor terraform found: Terraform not checked"; fi

fmt: install
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

audit: install
	mkdir -p .tools
	$(UV) export --frozen --no-dev --no-hashes --format requirements-txt --output-file .tools/requirements-audit.txt
	$(RUN) pip-audit --disable-pip --no-deps -r .tools/requirements-audit.txt

fuzz: install
	$(RUN) python scripts/fuzz.py $(FUZZ_ARGS)

# The NHS.UK frontend for the patient pages, from the version frontend/package.json pins: its JS
# and images copied, its CSS compiled from its Sass (frontend/nhsuk.scss: no web fonts from a CDN).
frontend:
	scripts/vendor_nhsuk.sh

bench: install
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(RUN) python bench/run.py $(BENCH_ARGS)

# The practice report on a year of data for 50 practices (seeds its own database once).
bench-report: install
	$(RUN) python bench/report.py $(BENCH_ARGS)

# The waiting list: 500 waiting patients, 50 cancellations at once, two real workers.
bench-waiting-list: install
	$(RUN) python bench/waiting_list.py $(BENCH_ARGS)

REGION = $$(terraform -chdir=$(TF_DIR) output -raw region)

apply:
	terraform -chdir=$(TF_DIR) init -input=false
	terraform -chdir=$(TF_DIR) apply -var-file=$(ENV).tfvars

deploy: install
	@[ "$(ENV)" != "prod" ] || { echo "Use 'make prod-deploy' for prod."; exit 2; }
	$(RUN) python scripts/deploy.py $(ENV)

# The seed's developer loop: deploy to dev, load the demo data there, print the URL and logins.
dev: install
	$(RUN) python scripts/deploy.py dev --seed-demo

prod-deploy: install
	@read -r -p "Deploy $$(git rev-parse --short=12 HEAD) to PROD? Type 'deploy prod': " answer; \
	  [ "$$answer" = "deploy prod" ] || { echo "Not confirmed."; exit 1; }
	$(RUN) python scripts/deploy.py prod

info:
	terraform -chdir=$(TF_DIR) output
	@echo "In service: $$(aws ssm get-parameter --region $(REGION) --name "$$(terraform -chdir=$(TF_DIR) output -raw image_tag_parameter_name)" --query Parameter.Value --output text)"
	@aws cloudwatch describe-alarms --region $(REGION) --alarm-name-prefix "gp-booking-$(ENV)" \
	  --query 'MetricAlarms[].[AlarmName,StateValue]' --output table

env-file:
	scripts/write-env.sh $(ENV)

logs:
	aws logs tail --region $(REGION) /gp-booking-$(ENV)/web --follow --format short

destroy:
	@read -r -p "This deletes the $(ENV) environment and its data. Type '$(ENV)' to confirm: " answer; \
	  [ "$$answer" = "$(ENV)" ] || { echo "Not confirmed."; exit 1; }
	terraform -chdir=$(TF_DIR) destroy -var-file=$(ENV).tfvars
