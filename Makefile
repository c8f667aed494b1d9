# abordo: two commands on a fresh machine.
#   make demo   set up, seed the demo database, fetch the local model and start the chat
#   make test   set up (with the dev tools), make sure PostgreSQL answers, run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# llama.cpp must be built portable: a native build uses AMX instructions these VMs refuse.
export CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAVA_BUILD=OFF
export ABORDO_TEST_PG_URL ?= postgresql://postgres@127.0.0.1:5432/postgres

.PHONY: demo test env dev-env model seed lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	$(BIN)/python -c "import llama_cpp; llama_cpp.llama_backend_init()"  # smoke check of the portable build
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install -q torch==2.13.0   # the local CPU wheel, before anything can ask for a CUDA build
	$(BIN)/pip install -q -e '.[dev,openai,eval,train]'
	touch $@

env: $(VENV)/.installed
dev-env: $(VENV)/.installed-dev

model: env
	$(BIN)/abordo model fetch

seed: env
	$(BIN)/abordo seed --if-empty

demo: env seed model
	$(BIN)/abordo model warm   # the prompt prefix read once and saved: the first answer comes in seconds
	$(BIN)/abordo demo

test: dev-env
	.ci/ensure-postgres
	.ci/ensure-browser
	$(BIN)/abordo model fetch
	$(BIN)/abordo model fetch --name qwen2.5-coder-0.5b   # the tiny training run in the tests trains on it
	$(BIN)/abordo model serve --build-only   # llama-server from the llama-cpp-python sdist (~10 min once, cached)
	$(BIN)/python -m pytest -q
	.ci/smoke-eval   # 10 dev questions with the real model; fails below 8 correct

lint: dev-env
	$(BIN)/ruff check abordo assistant evaluation sql_tools db ui seed_data tests benchmarks

bench: dev-env
	$(BIN)/python benchmarks/seed.py
	$(BIN)/python benchmarks/guard.py

clean:
	rm -rf $(VENV) build *.egg-info
