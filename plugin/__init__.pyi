# The lazy exports of digit_denoise/__init__.py, spelled out for editors and type checkers
# (scikit-image pairs its lazy loader with a stub the same way). Keep in step with _EXPORTS there.
from .adapter import ScanAdapter as ScanAdapter
from .config import Settings as Settings
from .config import make_settings as make_settings
from .denoiser import Denoiser as Denoiser
from .denoiser import denoise as denoise
from .denoiser import find_denoiser as find_denoiser
from .denoiser import load_denoiser as load_denoiser
from .errors import ConfigError as ConfigError
from .errors import DataError as DataError
from .errors import DigitDenoiseError as DigitDenoiseError
from .errors import ModelError as ModelError
from .errors import RunLockedError as RunLockedError
from .errors import ScanError as ScanError
from .evaluation import evaluate as evaluate
from .runner import RunSummary as RunSummary
from .runner import denoise_folder as denoise_folder
from .watch import watch_folders as watch_folders
from .sklearn import DenoiseTransformer as DenoiseTransformer
from .training import train_model as train_model

__version__: str
__all__: list[str]
