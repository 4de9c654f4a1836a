"""Decide which unpaid bank-transfer orders a deposit pays. Pure: no database access.

Evidence is of two kinds and a deposit is applied only with both: *who* (the remitter name
equals the order's name reading, or an open order's number is typed into the name field) and
*how much* (the amount equals what is due, or what is due less a bank fee the customer
deducted, for one order or two or three orders of the same person). Anything less, or more
than one candidate that would qualify, goes to a person with the candidates ranked. A name
alone, an amount alone, a partial or an over-payment is never applied.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from madoguchi.commerce.banking.kana import parse_remitter

# The transfer fees Japanese banks charge that customers commonly deduct from the amount.
TRANSFER_FEES = (110, 165, 220, 330, 440, 550, 660)
DATE_WINDOW_DAYS = 60
MIN_PARTIAL_NAME = 4
MAX_COMBINED = 3
MAX_AMOUNT_ONLY = 5

SCORE_NUMBER_EXACT = 100
SCORE_NAME_EXACT = 95
SCORE_NUMBER_FEE = 92
SCORE_NAME_FEE = 90
SCORE_NAME_COMBINED = 90
SCORE_PARTIAL_NAME_AMOUNT = 70
SCORE_NUMBER_AMOUNT_DIFFERS = 60
SCORE_NAME_AMOUNT_DIFFERS = 50
SCORE_SIMILAR_NAME_AMOUNT = 75
SIMILAR_NAME_RATIO = 0.75
SCORE_AMOUNT_ONLY = 40
SCORE_AMOUNT_FEE_ONLY = 30
CERTAIN_SCORE = 90
# A second candidate this strong makes the first one uncertain.
RIVAL_SCORE = 60


@dataclass(frozen=True)
class OpenOrder:
    id: int
    number: str
    amount_due: int
    placed_on: dt.date
    name_keys: frozenset[str]
    customer_id: int | None = None


@dataclass(frozen=True)
class Candidate:
    order_ids: tuple[int, ...]
    score: int
    reasons: tuple[str, ...]
    fee_absorbed: int = 0
    is_certain: bool = False


@dataclass(frozen=True)
class Decision:
    state: str  # "applied", "review" or "unmatched"
    candidates: tuple[Candidate, ...] = ()
    note: str = ""

    @property
    def applied(self) -> Candidate | None:
        return self.candidates[0] if self.state == "applied" else None


def _amount_fit(due: int, amount: int) -> tuple[str, int] | None:
    """Return ("exact", 0) or ("fee", fee) when `amount` pays `due`, else None."""
    if amount == due:
        return ("exact", 0)
    difference = due - amount
    if difference in TRANSFER_FEES:
        return ("fee", difference)
    return None


@dataclass
class Matcher:
    """Index the open orders once; then decide deposit after deposit, removing paid orders."""

    orders: dict[int, OpenOrder] = field(default_factory=dict)
    _by_number: dict[str, int] = field(default_factory=dict)
    _by_name: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    _by_amount: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))

    @classmethod
    def build(cls, orders: Iterable[OpenOrder]) -> Matcher:
        matcher = cls()
        for order in orders:
            matcher.add(order)
        return matcher

    def add(self, order: OpenOrder) -> None:
        self.orders[order.id] = order
        digits = "".join(ch for ch in order.number if ch.isdigit())
        if digits:
            self._by_number[digits.lstrip("0") or "0"] = order.id
        for key in order.name_keys:
            if key:
                self._by_name[key].add(order.id)
        self._by_amount[order.amount_due].add(order.id)

    def remove(self, order_ids: Iterable[int]) -> None:
        for order_id in order_ids:
            order = self.orders.pop(order_id, None)
            if order is None:
                continue
            for key in order.name_keys:
                self._by_name.get(key, set()).discard(order_id)
            self._by_amount.get(order.amount_due, set()).discard(order_id)
            digits = "".join(ch for ch in order.number if ch.isdigit())
            self._by_number.pop(digits.lstrip("0") or "0", None)

    def _in_window(self, order_id: int, received_on: dt.date) -> bool:
        placed_on = self.orders[order_id].placed_on
        return placed_on <= received_on and (received_on - placed_on).days <= DATE_WINDOW_DAYS

    def decide(self, *, amount: int, remitter_name: str, received_on: dt.date) -> Decision:
        remitter = parse_remitter(remitter_name)
        candidates: dict[tuple[int, ...], Candidate] = {}

        def offer(order_ids: Iterable[int], score: int, reasons: tuple[str, ...], fee: int) -> None:
            key = tuple(sorted(order_ids))
            current = candidates.get(key)
            if current is None or current.score < score:
                candidates[key] = Candidate(key, score, reasons, fee)

        numbered = [
            self._by_number[number.lstrip("0") or "0"]
            for number in remitter.numbers
            if (number.lstrip("0") or "0") in self._by_number
        ]
        numbered = [order_id for order_id in dict.fromkeys(numbered)]
        for size in range(1, min(len(numbered), MAX_COMBINED) + 1):
            for group in itertools.combinations(numbered, size):
                due = sum(self.orders[order_id].amount_due for order_id in group)
                fit = _amount_fit(due, amount)
                if fit is None:
                    offer(group, SCORE_NUMBER_AMOUNT_DIFFERS, ("number", "amount_differs"), 0)
                elif fit[0] == "exact":
                    offer(group, SCORE_NUMBER_EXACT, ("number", "amount"), 0)
                else:
                    offer(group, SCORE_NUMBER_FEE, ("number", "amount_less_fee"), fit[1])

        named = sorted(
            order_id
            for order_id in self._by_name.get(remitter.key, set())
            if self._in_window(order_id, received_on)
        )
        for order_id in named:
            fit = _amount_fit(self.orders[order_id].amount_due, amount)
            if fit is None:
                offer((order_id,), SCORE_NAME_AMOUNT_DIFFERS, ("name", "amount_differs"), 0)
            elif fit[0] == "exact":
                offer((order_id,), SCORE_NAME_EXACT, ("name", "amount"), 0)
            else:
                offer((order_id,), SCORE_NAME_FEE, ("name", "amount_less_fee"), fit[1])
        if 1 < len(named) <= 8:
            for size in range(2, min(len(named), MAX_COMBINED) + 1):
                for group in itertools.combinations(named, size):
                    due = sum(self.orders[order_id].amount_due for order_id in group)
                    fit = _amount_fit(due, amount)
                    if fit is not None:
                        reasons = (
                            "name",
                            "combined",
                            "amount" if not fit[1] else "amount_less_fee",
                        )
                        offer(group, SCORE_NAME_COMBINED, reasons, fit[1])

        if len(remitter.key) >= MIN_PARTIAL_NAME:
            for key, order_ids in self._by_name.items():
                if key == remitter.key or len(key) < MIN_PARTIAL_NAME:
                    continue
                if not (key.startswith(remitter.key) or remitter.key.startswith(key)):
                    continue
                for order_id in order_ids:
                    if not self._in_window(order_id, received_on):
                        continue
                    fit = _amount_fit(self.orders[order_id].amount_due, amount)
                    if fit is not None:
                        partial = ("partial_name", "amount" if not fit[1] else "amount_less_fee")
                        offer((order_id,), SCORE_PARTIAL_NAME_AMOUNT, partial, fit[1])

        amount_only: list[tuple[int, int, int]] = []
        for fee in (0, *TRANSFER_FEES):
            for order_id in self._by_amount.get(amount + fee, set()):
                if self._in_window(order_id, received_on):
                    distance = (received_on - self.orders[order_id].placed_on).days
                    amount_only.append((distance, order_id, fee))
        for _, order_id, fee in sorted(amount_only)[:MAX_AMOUNT_ONLY]:
            # A misspelt name (one kana off) ranks the order first; a person still decides.
            if remitter.key and any(
                difflib.SequenceMatcher(None, remitter.key, key).ratio() >= SIMILAR_NAME_RATIO
                for key in self.orders[order_id].name_keys
            ):
                similar = ("similar_name", "amount" if not fee else "amount_less_fee")
                offer((order_id,), SCORE_SIMILAR_NAME_AMOUNT, similar, fee)
            elif fee:
                offer((order_id,), SCORE_AMOUNT_FEE_ONLY, ("amount_less_fee",), fee)
            else:
                offer((order_id,), SCORE_AMOUNT_ONLY, ("amount",), 0)

        ranked = sorted(
            candidates.values(),
            key=lambda c: (-c.score, c.fee_absorbed, len(c.order_ids), c.order_ids),
        )
        if not ranked:
            return Decision(state="unmatched")
        best = ranked[0]
        # A near-miss spelling is weaker than an exact reading: it ranks, it does not block.
        rivals = [
            c for c in ranked[1:] if c.score >= RIVAL_SCORE and "similar_name" not in c.reasons
        ]
        numbered_set = set(numbered)
        points_elsewhere = bool(numbered_set) and not numbered_set & set(best.order_ids)
        if best.score >= CERTAIN_SCORE and not rivals and not points_elsewhere:
            certain = Candidate(best.order_ids, best.score, best.reasons, best.fee_absorbed, True)
            return Decision(state="applied", candidates=(certain,))
        note = "several candidates" if rivals else "no certain match"
        return Decision(state="review", candidates=tuple(ranked[:MAX_AMOUNT_ONLY]), note=note)
