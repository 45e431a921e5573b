"""Sales Dashboard: regional revenue, pipeline and forecast views for revenue operations."""
