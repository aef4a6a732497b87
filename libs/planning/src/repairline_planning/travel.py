"""Travel between two places: an interface, and today's model from coordinates.

`SpeedModel` estimates a road trip from the great-circle distance: the road is
``detour`` times longer than the straight line (1.3 is the usual figure for a city's
grid), driven at ``kmh`` on average (25 km/h in city traffic), plus ``park_seconds`` to
park and walk to the door on every trip that goes anywhere. The fixed part keeps the
triangle inequality (a stop on the way never shortens a trip). A road-network table
(OSRM's ``table`` service or similar) replaces it by implementing `TravelModel`:
`matrix` for the solvers, `row` for the interactive insertion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from repairline_planning.model import Point

EARTH_KM = 6371.0


class TravelModel(Protocol):
    def matrix(self, points: Sequence[Point]) -> np.ndarray:
        """Seconds from every point to every point (int64, square)."""
        ...

    def row(self, origin: Point, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
        """Seconds from ``origin`` to each of the places given by ``lats``, ``lons``
        (and back: the model is symmetric)."""
        ...

    def seconds(self, a: Point, b: Point) -> int: ...


def _great_circle_km(lat1, lon1, lat2, lon2):
    lat1, lon1, lat2, lon2 = (np.radians(v) for v in (lat1, lon1, lat2, lon2))
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_KM * np.arcsin(np.sqrt(np.minimum(1.0, h)))


@dataclass(frozen=True)
class SpeedModel:
    """Road time from coordinates: straight line x ``detour`` at ``kmh``, plus parking."""

    kmh: float = 25.0
    detour: float = 1.3
    park_seconds: int = 180

    def _seconds(self, km: np.ndarray) -> np.ndarray:
        drive = np.ceil(km * self.detour / self.kmh * 3600).astype(np.int64)
        return np.where(drive > 0, drive + self.park_seconds, 0)

    def matrix(self, points: Sequence[Point]) -> np.ndarray:
        lats = np.array([p.lat for p in points])
        lons = np.array([p.lon for p in points])
        km = _great_circle_km(lats[:, None], lons[:, None], lats[None, :], lons[None, :])
        return self._seconds(km)

    def row(self, origin: Point, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
        return self._seconds(_great_circle_km(origin.lat, origin.lon, lats, lons))

    def seconds(self, a: Point, b: Point) -> int:
        return int(self._seconds(np.array(_great_circle_km(a.lat, a.lon, b.lat, b.lon))))
