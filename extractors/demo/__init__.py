"""The bundled demo organisation, Helio Labs (fictional).

``extractors.demo.generate`` writes a year of Helio Labs' sources (AWS CUR 2.0
and carbon exports, GCP billing and carbon footprint exports, Slurm accounting,
MLflow runs, inference traffic) in their real delivery formats, so the whole
pipeline can run end to end without a cloud account. Deterministic: the same
arguments always give the same bytes. It only writes source files; it never
touches the landing zone or the warehouse.
"""
