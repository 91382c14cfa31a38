"""Charts: the ``ChartRenderer`` port drawn with matplotlib."""

from .matplotlib_charts import MatplotlibChartRenderer

__all__ = ["MatplotlibChartRenderer"]
