import os
import sys

from dara.components import Text
from dara.core import ComponentInstance


def inventory() -> ComponentInstance:
    if 'SHOP_WAREHOUSE_DSN' not in os.environ:
        sys.exit('SHOP_WAREHOUSE_DSN is not set')
    return Text('Inventory')
