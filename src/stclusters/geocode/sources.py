"""The tables an address is looked up in, put together: the GeoNames gazetteer with the
postcodes that ship with the package, or with the user's own places and postcodes.

The gazetteer and the postcodes are separate layers (the shipped US postcodes are named
after the gazetteer's places); this module is where they meet.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from pathlib import Path

from stclusters.geocode.gazetteer import Gazetteer, extend_gazetteer, load_geonames
from stclusters.geocode.postcodes import add_postcodes, bundled_postcodes

__all__ = ["load_gazetteer", "user_gazetteer"]


@cache
def load_gazetteer() -> Gazetteer:
    """The bundled gazetteer: GeoNames places, names, countries and divisions
    (``gazetteer.load_geonames``) with the shipped postcodes
    (``postcodes.bundled_postcodes``). Loaded once per process."""
    gaz = load_geonames()
    return dataclasses.replace(gaz, postcodes=bundled_postcodes(gaz))


def user_gazetteer(places: str | Path | None = None,
                   postcodes: str | Path | None = None) -> Gazetteer | None:
    """The bundled gazetteer with the user's extra places and postcodes (None when
    neither file is given, meaning the bundled one)."""
    if not places and not postcodes:
        return None
    gaz = extend_gazetteer(load_gazetteer(), places) if places else load_gazetteer()
    return add_postcodes(gaz, postcodes) if postcodes else gaz
