"""The placed contributions a run keeps for resampling (``robustness``), per document.

Bootstrap resamples draw documents (and weighted points), so what they need of the
counted records is each document's weight per location, not its contributor rows: a
document with five inventors in one town is one row here, with ``contributors`` = 5.
At GII volume that is about half the rows of one per contributor, and each document's
id is held once, not once per contributor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["Contributions"]

_TEXT = pd.StringDtype("pyarrow")


@dataclass
class Contributions:
    """Placed contributions, one row per resampling unit and one per unit's place.

    ``units``: each document with a placed contributor, then each weighted point, in the
    order counted: ``kind``, ``year``, ``doc_id`` (missing for a point) and ``weight``,
    what each of its contributions carries. ``places``: each unit's distinct locations
    and countries: ``unit`` (its row in ``units``), ``lat``, ``lon``, ``cc`` and
    ``contributors``, how many of its contributions are placed there. The rows of one
    per placed contributor (``rows``) are each place repeated ``contributors`` times.
    """

    units: pd.DataFrame
    places: pd.DataFrame

    def __len__(self) -> int:
        """Placed contributions (points count one each)."""
        return int(self.places["contributors"].sum())

    def keep(self, units: np.ndarray) -> Contributions:
        """Only the units where ``units`` (a mask over ``units``) is True, renumbered."""
        if units.all():
            return self
        number = np.cumsum(units) - 1
        unit = self.places["unit"].to_numpy()
        inside = units[unit]
        places = self.places[inside].reset_index(drop=True)
        places["unit"] = number[unit[inside]]
        return Contributions(self.units[units].reset_index(drop=True), places)

    def located(self) -> pd.DataFrame:
        """The places with their unit's ``kind`` and ``weight``: what
        ``count.aggregate_locations`` sums (each row ``contributors`` times)."""
        unit = self.places["unit"].to_numpy()
        return pd.DataFrame({
            "kind": self.units["kind"].take(unit).reset_index(drop=True),
            "lat": self.places["lat"].to_numpy(), "lon": self.places["lon"].to_numpy(),
            "cc": self.places["cc"].reset_index(drop=True),
            "weight": self.units["weight"].to_numpy(np.float64)[unit],
            "contributors": self.places["contributors"].to_numpy()})

    def rows(self) -> pd.DataFrame:
        """One row per placed contributor or point (kind, year, lat, lon, cc, weight,
        doc_id), each unit's places in order: for inspection and small data."""
        times = self.places["contributors"].to_numpy(np.int64)
        at = np.repeat(np.arange(len(self.places)), times)
        unit = self.places["unit"].to_numpy()[at]
        return pd.DataFrame({
            "kind": self.units["kind"].take(unit).reset_index(drop=True),
            "year": self.units["year"].to_numpy()[unit],
            "lat": self.places["lat"].to_numpy()[at], "lon": self.places["lon"].to_numpy()[at],
            "cc": self.places["cc"].take(at).reset_index(drop=True),
            "weight": self.units["weight"].to_numpy(np.float64)[unit],
            "doc_id": self.units["doc_id"].take(unit).reset_index(drop=True)})

    def rows_before(self) -> np.ndarray:
        """Per unit, how many contributor rows come before its first (``rows`` order)."""
        per_unit = np.bincount(self.places["unit"].to_numpy(), minlength=len(self.units),
                               weights=self.places["contributors"].to_numpy(np.float64)
                               ).astype(np.int64)
        return np.cumsum(per_unit) - per_unit

    def to_arrow(self) -> tuple[pa.Table, pa.Table]:
        """Both tables as Arrow, to send from a worker and stack without a copy."""
        return (pa.Table.from_pandas(self.units, preserve_index=False),
                pa.Table.from_pandas(self.places, preserve_index=False))

    @staticmethod
    def stacked(parts: list[Contributions | tuple[pa.Table, pa.Table]]) -> Contributions:
        """Parts (or their ``to_arrow`` tables, as sent by workers) as one, in order,
        units renumbered. Arrow stacks them without a copy, and each column's Arrow
        memory is let go as it is converted, so tens of millions of rows are held about
        once, not twice. ``parts`` is emptied."""
        parts[:] = [p.to_arrow() if isinstance(p, Contributions) else p for p in parts]
        offsets = np.concatenate([[0], np.cumsum([u.num_rows for u, _ in parts])])
        units = pa.concat_tables([u for u, _ in parts])
        places = pa.concat_tables([
            p.set_column(p.schema.get_field_index("unit"), "unit",
                         pa.array(p["unit"].to_numpy() + offsets[i]))
            for i, (_, p) in enumerate(parts)])
        parts.clear()
        kinds = {pa.string(): _TEXT, pa.large_string(): _TEXT}.get
        return Contributions(
            units.to_pandas(split_blocks=True, self_destruct=True, types_mapper=kinds),
            places.to_pandas(split_blocks=True, self_destruct=True, types_mapper=kinds))
