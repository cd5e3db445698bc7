"""Extract's default search length follows its fitness: converged with the cheap predictor, short
when every arch is measured; an explicit --generations wins."""

from pathlib import Path

from edgenas.boards import get_board
from edgenas.extract import ExtractRequest
from edgenas.extract.pipeline import MEASURED_GENERATIONS, search_generations
from edgenas.search.run import PREDICTOR_GENERATIONS


def _request(**kw: object) -> ExtractRequest:
    return ExtractRequest(board=get_board("mps2-an500"), limits={"sram_bytes": 65536}, out_dir=Path("unused"), **kw)


def test_default_generations_follow_the_fitness() -> None:
    assert search_generations(_request()) == PREDICTOR_GENERATIONS == 100
    assert search_generations(_request(fitness="measured")) == MEASURED_GENERATIONS == 30
    assert search_generations(_request(fitness="measured", generations=7)) == 7
    assert search_generations(_request(generations=0)) == 0
