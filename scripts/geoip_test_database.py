"""Write a small GeoIP2 City database, to try geo rules without MaxMind's.

    python scripts/geoip_test_database.py [OUTPUT.mmdb]     (default: GeoLite2-City.mmdb)

It is the database the tests use (``tests/geoip.py``), built with ``mmdb-writer``
(``pip install -e '.[test]'``), and knows a handful of addresses: enough for
``smalldata try --ip 81.2.69.142 --geoip GeoLite2-City.mmdb``. For the real one,
MaxMind's free GeoLite2 City, create a MaxMind account and run ``geoipupdate``
(https://dev.maxmind.com/geoip/updating-databases).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(output: str = "GeoLite2-City.mmdb") -> Path:
    """Write the database to ``output`` and say which addresses it knows."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.geoip import COPENHAGEN_V6, LONDON, SWEDEN_ONLY, build_city_mmdb

    path = build_city_mmdb(Path(output))
    print(f"wrote {path}, a test database that knows:")
    print(f"  {LONDON}  London, GB (a full city record)")
    print(f"  {COPENHAGEN_V6}  Copenhagen, DK (IPv6)")
    print(f"  {SWEDEN_ONLY}  SE (the country only)")
    print(f"try it: smalldata try --ip {LONDON} --geoip {path} --explain")
    return path


if __name__ == "__main__":
    main(*sys.argv[1:2])
