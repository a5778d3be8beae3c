# Convenience targets; each is one slth command (see README.md).
PY ?= .venv/bin
SCALE ?= quick

.PHONY: figures figures-paper test
figures:            ## run the missing quick-scale sweeps and draw every figure into paper_figures/quick/
	$(PY)/slth figures --scale $(SCALE) --out paper_figures/$(SCALE)
figures-paper:      ## the same at the full grids (the specs of src/slth/specs/)
	$(PY)/slth figures --scale paper --out paper_figures/paper
test:
	$(PY)/python -m pytest
