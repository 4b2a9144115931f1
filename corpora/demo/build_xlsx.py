"""Rebuild tickets.xlsx from tickets_source.csv (same folder).

Usage: python corpora/demo/build_xlsx.py
"""
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent

df = pd.read_csv(HERE / "tickets_source.csv", encoding="utf-8", dtype=str, keep_default_na=False)
df["created_at"] = pd.to_datetime(df["created_at"])

with pd.ExcelWriter(HERE / "tickets.xlsx", engine="openpyxl") as xw:
    df.to_excel(xw, sheet_name="tickets", index=False)
    ws = xw.sheets["tickets"]
    for col, width in zip("ABCDEF", (16, 20, 14, 28, 80, 12)):
        ws.column_dimensions[col].width = width
    for cell in ws["B"][1:]:
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
    ws.freeze_panes = "A2"

print(f"wrote {HERE / 'tickets.xlsx'} ({len(df)} rows)")
