"""Exit statuses of ``slth``: one name for each outcome a script can tell apart by the status alone.

0 success (a valid ticket for ``verify``), 1 an invalid ticket, 2 bad input or an unreadable file,
3 a ticket whose random network cannot be regenerated (unverifiable), 130 Ctrl-C.
"""

from __future__ import annotations

EXIT_OK, EXIT_INVALID, EXIT_INPUT, EXIT_UNVERIFIABLE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
