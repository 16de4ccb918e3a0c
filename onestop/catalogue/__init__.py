"""The catalogue of items, departments and materials: each defined once, as validated data
(``data/*.yaml`` plus ``catalogue/*.yaml`` of each extra data folder). Pure; no Django."""

from onestop.catalogue.loader import (
    EXTRA_DATA_ENV,
    Catalogue,
    catalogue,
    catalogue_cache_clear,
    extra_data_dirs_from_env,
    load_catalogue,
)
from onestop.catalogue.names import department_name, item_name, material_name

__all__ = [
    "EXTRA_DATA_ENV",
    "Catalogue",
    "catalogue",
    "catalogue_cache_clear",
    "department_name",
    "extra_data_dirs_from_env",
    "item_name",
    "load_catalogue",
    "material_name",
]
