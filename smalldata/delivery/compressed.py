"""Pages the app compressed itself: decompress, insert the payload, compress again, within a bound.

A shop that compresses inside smalldata (Django's ``GZipMiddleware`` in its
``MIDDLEWARE``, Starlette's added after smalldata) sends ``Content-Encoding: gzip``
pages. Their visitors are still personalised: the compressed page is held (at most
:data:`MAX_PAGE` bytes, compressed and decompressed), decompressed with the standard
library's ``zlib``, the payload inserted, and compressed again in the same encoding
at level 6. Only ``gzip`` and ``deflate`` can be read so; a page in another encoding
(``br``, ``zstd``), a larger one, or a body that does not decompress cleanly goes out
unchanged — still ``private``, with the visitor's cookie. Cost: see the README.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from smalldata.delivery.headers import ResponseHeaders

MAX_PAGE = 4 * 1024 * 1024
LEVEL = 6
#: The zlib window of each encoding we can read: gzip framing, or zlib framing (HTTP's "deflate").
_WBITS = {b"gzip": 31, b"x-gzip": 31, b"deflate": 15}
_STRIP = bytes(c for c in range(256) if chr(c).isspace())
IDENTITY = 0
UNREADABLE = -1


def codec_of(headers: ResponseHeaders) -> int:
    """:data:`IDENTITY`, the zlib window to read the body with, or :data:`UNREADABLE`."""
    encoding = headers.first(b"content-encoding")
    if encoding is None:
        return IDENTITY
    encoding = encoding.strip(_STRIP).lower()
    if encoding == b"identity" or not encoding:
        return IDENTITY
    return _WBITS.get(encoding, UNREADABLE)


def with_markup(body: bytes, wbits: int, insert: Callable[[bytes], bytes]) -> bytes | None:
    """``body`` decompressed, changed by ``insert`` and compressed again; None when it cannot be.

    None: the body does not decompress cleanly, is larger than :data:`MAX_PAGE` once
    decompressed, or ``insert`` changed nothing (no ``</body>``).
    """
    reader = zlib.decompressobj(wbits)
    try:
        page = reader.decompress(body, MAX_PAGE)
    except zlib.error:
        return None
    if not reader.eof or reader.unconsumed_tail or reader.unused_data:
        return None  # over the bound, cut short, or more than one member: not ours to rewrite
    changed = insert(page)
    if changed is page:
        return None
    writer = zlib.compressobj(LEVEL, zlib.DEFLATED, wbits)
    return writer.compress(changed) + writer.flush()
