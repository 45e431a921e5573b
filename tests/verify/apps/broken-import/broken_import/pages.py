from dara.components import Text
from dara.core import ComponentInstance
from shop_reporting_toolkit import monthly_report


def sales() -> ComponentInstance:
    return Text(monthly_report())
