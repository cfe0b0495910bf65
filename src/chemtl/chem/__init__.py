"""Parse and validate chemical representations: compositions, SMILES and SELFIES."""
