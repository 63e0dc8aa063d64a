"""The query and service layer: the warehouse turned into the figures, documents and actions every page needs.

No Streamlit, no pydeck here. Plain functions return polars frames; SQL takes parameters, never text built from
input. One room per domain: ``progress`` (overview, region, village, the map's model), ``dispatch`` (alerts, orders,
forecast), ``rankings`` (index, judges' scores, exports), ``access`` (roles, users, audit, uploads); shared helpers at
this level (``base`` village rows in force, ``fmt``, ``privacy``, ``export`` file layout). The definitions everything
shares (metrics, stages, scope, schedule, read connections) are the warehouse floor's (``warehouse``).
"""
