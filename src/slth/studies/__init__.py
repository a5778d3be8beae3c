"""Studies: experiments built from one unit (one call, one row), a grid of units, and one aggregation of rows."""
