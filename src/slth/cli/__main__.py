"""``python -m slth.cli``: the ``slth`` executable, :func:`slth.cli.entry`."""

from slth.cli import entry

if __name__ == "__main__":
    entry()
