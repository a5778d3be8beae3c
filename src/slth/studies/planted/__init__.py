"""Planted tickets: a known target planted in a random network (an exact ticket at a known sparsity),
and whether ticket searches find it (Fischer & Burkholz 2022, "Plant 'n' Seek: Can You Find the Winning
Ticket?", ICLR 2022, arXiv 2111.11153).

Modules, one job each: :mod:`.planting` (the planting, the Planted record, precision and recall of a
found mask), :mod:`.certify` (a sound certificate for any mask of a planted network), :mod:`.search`
(edge-popup and IMP on the planted network), :mod:`.study` (the study's rows and table).
The module is ``planting``, not ``plant``, so that ``slth.studies.planted.plant`` is the function.
"""

from slth.studies.planted.certify import certificate
from slth.studies.planted.planting import (LAWS, PLANT, Planted, check_mask, check_widths, fraction_kept, plant,
                                           precision_recall, scales_for)
from slth.studies.planted.search import (BATCH, IMP_RATE, LEARNING_RATE, SEARCH, STEPS, check_keep, edge_popup,
                                         imp_schedule, imp_search, task_seed)

__all__ = ["BATCH", "IMP_RATE", "LAWS", "LEARNING_RATE", "PLANT", "Planted", "SEARCH", "STEPS", "certificate",
           "check_keep", "check_mask", "check_widths", "edge_popup", "fraction_kept", "imp_schedule", "imp_search",
           "plant", "precision_recall", "scales_for", "task_seed"]
