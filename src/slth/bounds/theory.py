"""Theory beside measurement: the one list of width bounds that is printed next to a measured width.

``slth check``, a width sweep's summary and the width figures read :data:`BOUNDS` (and a
construction's companion bound, named by its registry entry, ``Construction.bound``); none of them
names a bound by hand. Each entry says how to evaluate the bound at a cell (dims, ε, δ), where it is
defined, what ``slth check`` prints beside it, and how a measurement is read against it: its hidden
constant fitted as C·(log term) (``fitted="log"``, Pensia et al.) or as K·(width at C = 1)
(``fitted="scale"``, Malach et al.'s form), or not at all (explicit constants, lower bounds).

Adding a bound: write its function in its own module of :mod:`slth.bounds` (plain Python and NumPy,
no JAX), add a :class:`Bound` here, and, if it belongs to a construction, name it in that
construction's registry entry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from slth.bounds.counting import counting_applies, counting_width
from slth.bounds.da_cunha import da_cunha_log_term, da_cunha_width, is_geometry
from slth.bounds.malach import malach_entrywise, malach_width
from slth.bounds.pensia import pensia_log_term, pensia_width
from slth.bounds.selection import selection_width
from slth.bounds.width import Width
from slth.errors import InputError


def _always(dims, eps) -> bool:
    return True


@dataclasses.dataclass(frozen=True)
class Bound:
    """A width bound beside a measurement.

    Attributes:
      name: its :attr:`Width.name` (``pensia``, ``malach``, ``selection/frobenius``, ``counting``).
      width: ``width(dims, eps, delta) -> Width`` at its placeholder constants.
      note: the line ``slth check`` prints under its table for this bound.
      applies: ``applies(dims, eps) -> bool``: where the bound is defined (the counting bound's ε).
      fitted: how a measured width is read against it: ``"log"`` (c = C·:attr:`log_term`), ``"scale"``
        (c = K·width at C = 1, in log scale) or None (no constant to fit).
      log_term: ``log_term(dims, eps, delta)``, the factor of the hidden C (``fitted="log"`` only).
      exponents: the exponents of its form in d, l and 1/ε (``fitted="scale"``), or None.
      reading: how a power law fitted to the widths compares with its form, e.g. "logarithmic".
      legend: the figures' label of its fitted curve, with ``{constant}`` for the fitted constant.
      outside: ``outside(layers) -> float``, how far a target is from an assumption of the theorem that
        slth does not enforce (<= 1: inside its class), or None; ``assumption`` says which.
      geometry: True for a bound on CNN targets, called with the target's geometry (a
        :class:`slth.nets.conv.Geometry`) where the others take dims; its ``applies`` is False for dims,
        so the MLP tables, figures and ``slth check`` leave it out.
    """

    name: str
    width: Callable[..., Width]
    note: str
    applies: Callable[..., bool] = _always
    fitted: str | None = None
    log_term: Callable[..., float] | None = None
    exponents: Mapping[str, int] | None = None
    reading: str = ""
    legend: str = ""
    outside: Callable[..., float] | None = None
    assumption: str = ""
    geometry: bool = False

    def at(self, dims, eps: float, delta: float) -> Width | None:
        """The bound at (dims, ε, δ), or None where it is not defined."""
        return self.width(dims, eps, delta) if self.applies(dims, eps) else None

    def paper_exponent(self, variable: str) -> str:
        """What its form says about the exponent of ``variable`` (d, l, inv_eps) of a power law."""
        if self.exponents is not None and variable in self.exponents:
            return f"{self.reading}: {self.exponents[variable]}"
        if self.fitted == "log" and variable in ("d", "l", "inv_eps"):
            return self.reading
        return "no paper value"


BOUNDS: tuple[Bound, ...] = (
    Bound("pensia", lambda dims, eps, delta: pensia_width(dims, eps, delta),
          "Pensia et al. 2020 Thm 1, C ln(d_{i-1} d_i l / min(ε, δ)); C hidden, 1 is a placeholder",
          fitted="log", log_term=pensia_log_term, reading="Pensia et al.: logarithmic, exponent -> 0",
          legend="Pensia et al.: C·ln(d²l/min(ε,δ)), C = {constant:.2f} (fit)"),
    Bound("malach", lambda dims, eps, delta: malach_width(dims, eps, delta),
          "Malach et al. 2020 Thm 2.1 as d⁴ l² (1/ε)² ln(1/δ); C and exponents hidden, C = 1",
          fitted="scale", exponents={"d": 4, "l": 2, "inv_eps": 2}, reading="Malach et al.'s form",
          legend="Malach et al.: K·d⁴l²(1/ε)²ln(1/δ), K = {constant:.2g} (fit)",
          outside=malach_entrywise, assumption="|w| <= 1/√(fan-in) for every target weight (max |w|·√(fan-in) <= 1)"),
    Bound("selection/frobenius", lambda dims, eps, delta: selection_width(dims, eps, delta),
          "selection construction, explicit union bound over q(w, η) (no hidden constant)"),
    Bound("counting", lambda dims, eps, delta: counting_width(dims, eps),
          "Pensia et al. 2020 Thm 2 (sub-class argument for l >= 2): no network with fewer parameters can "
          "serve a random target of the class with probability >= 1/2", applies=counting_applies),
    Bound("da-cunha", lambda geometry, eps, delta: da_cunha_width(geometry, eps, delta),
          "da Cunha, Natale & Viennot 2022 Thm 1 (CNN targets), C ln(k² C_(i-1) C_i ℓ / min(ε, δ)) per kernel "
          "entry and sign; C hidden, 1 is a placeholder", applies=is_geometry, fitted="log",
          log_term=da_cunha_log_term, reading="da Cunha et al.: logarithmic in the kernel's parameters",
          legend="da Cunha et al.: C·ln(k²C_(i-1)C_iℓ/min(ε,δ)), C = {constant:.2f} (fit)", geometry=True),
)

#: name -> Bound.
BY_NAME: dict[str, Bound] = {b.name: b for b in BOUNDS}
#: The bound whose hidden constant a summary reports per cell (``pensia_C_needed``).
LOG_BOUND = next(b for b in BOUNDS if b.fitted == "log" and not b.geometry)
#: Its counterpart for CNN targets (``da_cunha_C_needed`` of the conv_width summary).
CONV_LOG_BOUND = next(b for b in BOUNDS if b.fitted == "log" and b.geometry)
#: No companion: :meth:`Bound.paper_exponent` of a construction without one.
NONE = Bound("none", lambda dims, eps, delta: None, "")


def bound(name: str) -> Bound:
    """The entry of :data:`BOUNDS` called ``name``."""
    if name not in BY_NAME:
        raise InputError(f"unknown bound {name!r}; allowed: {', '.join(BY_NAME)}")
    return BY_NAME[name]


__all__ = ["BOUNDS", "BY_NAME", "Bound", "CONV_LOG_BOUND", "LOG_BOUND", "NONE", "bound"]
