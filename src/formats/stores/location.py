"""Where a store is and which format it has: ``Location`` parses what the user wrote (a
local folder, file://, gs://, s3://, http(s)://, after an optional neuroglancer prefix
such as precomputed:// or zarr://), ``looks_like_store`` tells a store from tiles by the
path and what its metadata files declare, ``detect_format`` finds the format from the metadata files a store has.
Pure: no ChimeraX, no tensorstore.
"""

import json
import os
import re

from ...errors import InputError

FORMATS = ('precomputed', 'zarr', 'n5')
SUFFIXES = {'.zarr': 'zarr', '.n5': 'n5', '.precomputed': 'precomputed'}
# Neuroglancer's data source prefixes.
PREFIXES = {'precomputed': 'precomputed', 'zarr': 'zarr', 'zarr2': 'zarr', 'zarr3': 'zarr',
            'n5': 'n5'}
REMOTE_SCHEMES = ('gs', 's3', 'http', 'https')
# The metadata files that make a folder a store (or an array inside one).
METADATA_KEYS = ('info', '.zarray', '.zattrs', 'zarr.json', 'attributes.json')
ARRAY_KEYS = ('.zarray', '.zattrs', 'zarr.json', 'attributes.json')
# Larger metadata files are taken on trust by looks_like_store rather than parsed.
_PARSED_BYTES = 16 << 20


class Location:
    """A store's place: ``format`` (None until known), ``url`` as tensorstore takes it,
    ``local`` (the folder, or None when remote), ``name`` (its last path component) and
    ``text`` as the user wrote it."""

    def __init__(self, text, format=None):
        self.text = str(text)
        spec = self.text.strip()
        m = re.match(r'([a-z0-9]+)://(.*)$', spec)
        if m and m.group(1) in PREFIXES:
            given = PREFIXES[m.group(1)]
            if format is not None and format != given:
                raise InputError('%s is a %s path, not %s' % (self.text, given, format),
                                 self.text)
            format = given
            spec = m.group(2)
            if not re.match(r'[a-z0-9]+://', spec):
                spec = spec if spec.startswith('/') else '/' + spec
        m = re.match(r'([a-z0-9]+)://(.*)$', spec)
        if m and m.group(1) == 'file':
            spec = m.group(2)
            m = None
        if m:
            if m.group(1) not in REMOTE_SCHEMES:
                raise InputError('%s: unknown location scheme %s:// (local paths, file://,'
                                 ' gs://, s3://, http:// and https:// are read)'
                                 % (self.text, m.group(1)), self.text)
            self.local = None
            self.url = spec.rstrip('/') + '/'
        else:
            path = os.path.abspath(os.path.expanduser(spec))
            if not os.path.exists(path):
                raise InputError('%s does not exist' % self.text, self.text)
            if not os.path.isdir(path):
                raise InputError('%s is a file, not a store (a folder with info, .zarray,'
                                 ' .zattrs, zarr.json or attributes.json)' % self.text,
                                 self.text)
            self.local = path
            self.url = 'file://' + path.rstrip('/') + '/'
        self.format = format
        self.name = self.url.rstrip('/').rsplit('/', 1)[-1] or self.text

    def kvstore(self, sub=''):
        """The tensorstore key-value store spec of the store, or of its folder ``sub``."""
        if self.local is not None:
            return {'driver': 'file', 'path': os.path.join(self.local, sub).rstrip('/') + '/'}
        return self.url + (sub.strip('/') + '/' if sub else '')

    def list_arrays(self):
        """': a, b' naming the arrays in a local store's folder, for a message ('' when
        remote or none)."""
        if self.local is None:
            return ''
        names = sorted(n for n in os.listdir(self.local)
                       if any(os.path.isfile(os.path.join(self.local, n, k))
                              for k in ARRAY_KEYS))
        return ': %s' % ', '.join(names) if names else ''

    def __str__(self):
        return self.text


def looks_like_store(text):
    """Whether a path names a store by its form alone (a neuroglancer prefix, a
    .zarr/.n5 suffix, a remote URL) or is a local folder holding store metadata: a file
    named like a store's metadata that declares it (a folder of tiles may hold a README
    named ``info``)."""
    text = str(text).strip()
    m = re.match(r'([a-z0-9]+)://', text)
    if m and m.group(1) != 'file':
        return m.group(1) in PREFIXES or m.group(1) in REMOTE_SCHEMES
    path = os.path.expanduser(text[len('file://'):] if m else text)
    if os.path.splitext(path.rstrip('/'))[1].lower() in SUFFIXES:
        return True
    return os.path.isdir(path) and any(_declares_store(os.path.join(path, key), key)
                                       for key in METADATA_KEYS)


def _declares_store(path, key):
    """Whether the file at ``path`` is store metadata ``key``: a JSON object, and for
    precomputed's ``info``, one that lists scales.  A damaged JSON object (it starts
    with ``{``) counts, so that opening it says what is wrong with it."""
    if not os.path.isfile(path):
        return False
    if os.path.getsize(path) > _PARSED_BYTES:
        return True
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError:
        return False
    try:
        value = json.loads(data)
    except ValueError:
        return data.lstrip().startswith(b'{')
    if not isinstance(value, dict):
        return False
    return key != 'info' or 'scales' in value or \
        value.get('@type') == 'neuroglancer_multiscale_volume'


def detect_format(read):
    """precomputed, zarr or n5 from the metadata files a store has (``read(key)``: the
    parsed JSON at key, or None if absent), or None."""
    for key, format in (('info', 'precomputed'), ('zarr.json', 'zarr'), ('.zarray', 'zarr'),
                        ('.zattrs', 'zarr'), ('.zgroup', 'zarr'), ('attributes.json', 'n5'),
                        # an N5 group without attributes (BigDataViewer's timepoint)
                        ('s0/attributes.json', 'n5')):
        if read(key) is not None:
            return format
    return None
