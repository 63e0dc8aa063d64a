"""Progress room: the province's plan progress as pages read it — the overview, a region's breakdown, one village,
and the map's model (layers as data; drawing them is ui.map_panel's job)."""
