"""The header mapping in analytics.formats and the models agree, field by field."""

import pytest
from django.db import models

from analytics.formats import INVENTORY, SALES
from analytics.models import InventoryRecord, SaleRecord

KINDS = {"date": models.DateField, "int": models.IntegerField,
         "decimal": models.DecimalField, "text": models.CharField}


@pytest.mark.parametrize(("model", "columns"), [(InventoryRecord, INVENTORY),
                                                (SaleRecord, SALES)])
def test_every_csv_column_has_a_matching_field(model, columns):
    for column in columns:
        if column.name == "client_code":
            assert model._meta.get_field("client").related_model.__name__ == "Client"
            continue
        field = model._meta.get_field(column.name)
        assert isinstance(field, KINDS[column.kind]), column
        if column.max_length:
            assert field.max_length == column.max_length, column
