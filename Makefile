# The two commands a newcomer runs (see README.md):
#   make book   set up .venv, execute every chapter, write the site to _build/html
#   make test   set up .venv, run lint, type check and the whole test suite
# Also: make grade [EX=ex00_tools]   grade your homework in exercises/ (scores per exercise;
#                                     DETAIL=1 full reports, RESULTS=f.json Gradescope's file)
#       make chapter CH=book/preface  build one chapter (with the front matter) while writing it
#       make book EDITION=student     the same site with every exercise solution removed
#       make handout                  the exercise sets without solutions, for students
#       make bench [BENCH=bench_cnn]  run the benchmarks (ratios against the PyTorch built-ins)
#       make serve                    serve the built site on http://localhost:8000
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3
# full: solutions folded under each exercise (for self-learners); student: solutions absent.
EDITION ?= full
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed

# `make PYTHON=python3.12 ...` with a .venv made by another Python would silently keep the
# old one: say so instead.
ifeq ($(origin PYTHON),command line)
ifneq ($(wildcard $(PY)),)
VERSION_OF = $(shell $(1) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
ifneq ($(call VERSION_OF,$(PYTHON)),$(call VERSION_OF,$(PY)))
$(error .venv was made with Python $(call VERSION_OF,$(PY)), but PYTHON=$(PYTHON) is \
  Python $(or $(call VERSION_OF,$(PYTHON)),(not found)): remove .venv (rm -rf .venv) to rebuild it)
endif
endif
endif
# Chapters are executed on every build: cached between local builds, always fresh in CI.
# --all re-reads every source (cheap: execution stays cached), so edits to the .bib files
# or _config.yml never meet a stale Sphinx environment.
BOOK_FLAGS := -W -n --keep-going --all
# Lines of build output no reader needs: myst-nb's configuration dump and ipykernel's note
# that the kernel talks to the builder over local TCP.
BUILD_NOISE := NbParserConfig\(|Kernel is running over TCP without encryption

.PHONY: book test grade chapter bench serve handout lint typecheck clean

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c "import sys; sys.exit(0 if sys.version_info >= (3, 11) else \
	  'The pinned environment (requirements.txt) needs Python 3.11 or newer; ' + \
	  sys.executable + ' is ' + sys.version.split()[0] + '. Run e.g. make PYTHON=python3.12 ...')"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

# The execution cache is keyed on each chapter's code, not on dlbook's: clear it whenever
# the package changes (and always in CI), so no page shows numbers from older code.
book: $(STAMP)
	@mkdir -p _build; h=$$(cat pyproject.toml $$(find dlbook -name "*.py" | sort) | $(PY) -c \
	  "import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())"); \
	if [ -n "$(CI)" ] || [ "$$(cat _build/.dlbook_hash 2>/dev/null)" != "$$h" ]; then \
	  echo "dlbook changed (or CI): executing every chapter afresh"; \
	  rm -rf _build/.jupyter_cache _build/jupyter_execute; fi; \
	echo "$$h" > _build/.dlbook_hash
	DLBOOK_EDITION=$(EDITION) DLBOOK_PROGRESS=0 PYDEVD_DISABLE_FILE_VALIDATION=1 \
	  $(BIN)/jupyter-book build $(BOOK_FLAGS) . 2>&1 | { grep --line-buffered -vE "$(BUILD_NOISE)" || true; }
	@echo "The site is in _build/html/index.html"

# The student's file in each exercise set (the one that is neither a grader nor __init__.py)
# is homework: its style is not the linter's business (CI proves the committed stubs fail).
STUDENT_FILES := $(strip $(foreach f,$(wildcard exercises/ex*/*.py),\
  $(if $(filter test_% __init__.py,$(notdir $(f))),,$(f))))
comma := ,
empty :=
space := $(empty) $(empty)
RUFF_SKIP := $(if $(STUDENT_FILES),--extend-exclude $(subst $(space),$(comma),$(STUDENT_FILES)))
lint: $(STAMP)
	$(BIN)/ruff check $(RUFF_SKIP) .
	$(BIN)/ruff format --check $(RUFF_SKIP) .

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(PY) -m pytest

# The scores per exercise and one line per failure; DETAIL=1 adds the grader's full reports.
grade: $(STAMP)
	$(PY) -m pytest exercises/$(EX) -p no:cacheprovider \
	  $(if $(DETAIL),,-q --tb=no -rN) $(if $(RESULTS),--results-json=$(RESULTS))

# One chapter with the front matter and bibliography, in its own build folder and cache, so
# authors can work on several chapters at once. The chapter is the root page. Links to
# chapters outside this small book cannot resolve here, so the build runs without -W and
# then fails on every warning except those (the full `make book` checks every link).
CHAPTER_OUTSIDE := undefined label|unknown document|term not in glossary|toctree contains reference to nonexisting
chapter: $(STAMP)
	@test -n "$(CH)" || { echo "usage: make chapter CH=book/<chapter> (no .md)"; exit 2; }
	@n=$$(basename $(CH) .md); mkdir -p _build/chapters/$$n; \
	printf 'format: jb-book\nroot: %s\nparts:\n  - caption: Chapter\n    chapters:\n%s\n' \
	  "$(CH:.md=)" \
	  "$$(for f in book/preface book/notation book/appendix_tools book/bibliography; \
	     do [ "$$f" = "$(CH:.md=)" ] || echo "      - file: $$f"; done)" \
	  > _build/chapters/$$n/_toc.yml; \
	DLBOOK_PROGRESS=0 PYDEVD_DISABLE_FILE_VALIDATION=1 $(BIN)/jupyter-book build -n --keep-going --all \
	  --toc _build/chapters/$$n/_toc.yml --path-output _build/chapters/$$n . \
	  > _build/chapters/$$n/build.log 2>&1; rc=$$?; \
	warnings=$$(grep -E ": (WARNING|ERROR|CRITICAL|SEVERE):" _build/chapters/$$n/build.log | grep -vE "$(CHAPTER_OUTSIDE)"); \
	if [ $$rc -ne 0 ] || [ -n "$$warnings" ]; then \
	  echo "$$warnings"; tail -n 20 _build/chapters/$$n/build.log; \
	  echo "make chapter: the build of $(CH) failed (full log: _build/chapters/$$n/build.log)"; exit 1; fi; \
	echo "Built _build/chapters/$$n/_build/html/$(CH:.md=).html (log: _build/chapters/$$n/build.log)"

# The exercise sets as handed to students: pencil-and-paper solutions removed.
handout: $(STAMP)
	rm -rf _build/handout && $(PY) -m exercises.handout _build/handout/exercises

# Every benchmark, or one (BENCH=bench_cnn), in the project's environment.
bench: $(STAMP)
	@set -e; for f in $$(ls benchmarks/$(or $(BENCH),bench_*).py); do \
	  echo "== $$f"; $(PY) $$f; done

# The built site over HTTP (search and downloads behave as on a web server).
serve:
	@test -f _build/html/index.html || { echo "no site yet: run make book first"; exit 2; }
	$(PY) -m http.server --directory _build/html --bind 127.0.0.1 8000

clean:
	rm -rf _build .pytest_cache .mypy_cache .ruff_cache .hypothesis
