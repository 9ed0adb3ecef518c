"""Rules every layer uses, each written once: errors, names, quoting, times, durations,
JSON-safe values, the magic-line grammar, names-or-objects, REST JSON decoding, the user SQL
sandbox, plug-in registries. Nothing here imports an area, the catalog or a door."""
