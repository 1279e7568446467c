"""The fusion of the CRNN head with the taggers' genre tags, and its calibration (classifier.fusion)."""

import numpy as np
import pytest

from classifier.fusion import (
    CONFIDENT_PRECISION, EXTRA_FALSE_ALARM, Calibration, Fusion, Holdout, confidence_threshold, fit_fusion,
    song_confidence, song_confidences,
    holdout_fusion, reliability, song_probs, tag_evidence, untagged_references,
)

pytestmark = pytest.mark.unit

HEAD = ["blues", "disco", "rock"]  # disco has no tag
EXTRA = ["punk"]
TAGGED = [True, False, True, True]


def fusion(**params) -> Fusion:
    return Fusion(HEAD, EXTRA, TAGGED, **{"tag_weight": 1.0, "head_bias": (0.0, 0.0, 0.0), "extra_offset": -1.0,
                                          **params})


def test_tag_evidence_is_the_log_of_the_likeliest_tags_probability_or_of_the_sum_for_older_models():
    logits = np.array([[0.0, 2.0, -1.0]])
    sigmoid = 1 / (1 + np.exp(-logits[0]))
    evidence = tag_evidence(logits, [[0], [1, 2], []])
    assert evidence[0] == pytest.approx([np.log(sigmoid[0]), np.log(sigmoid[1]), 0.0])
    summed = tag_evidence(logits, [[0], [1, 2], []], pooling="sum")
    assert summed[0] == pytest.approx([np.log(sigmoid[0]), np.log(sigmoid[1] + sigmoid[2]), 0.0])


def test_a_fusion_saved_before_tag_pooling_was_recorded_keeps_summing():
    saved = fusion().to_dict()
    assert Fusion.from_dict(saved).tag_pooling == "max"
    del saved["tag_pooling"]
    assert Fusion.from_dict(saved).tag_pooling == "sum"


def test_frame_probabilities_cover_every_genre_and_sum_to_one():
    head = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    probs = fusion().frame_probs(head, np.zeros((2, 4)))
    assert probs.shape == (2, 4) and np.allclose(probs.sum(axis=1), 1)
    assert probs.argmax(axis=1).tolist() == [0, 2]


def test_a_genre_only_the_tags_know_wins_only_when_its_tags_outweigh_the_heads_best_genre():
    head = np.array([[0.05, 0.05, 0.9]] * 2)  # the head hears rock
    evidence = np.array([[-3.0, 0.0, -0.2, -4.0],   # rock tags strong, punk tags weak
                         [-3.0, 0.0, -2.0, -0.1]])  # punk tags far stronger than rock's
    winners = [fusion().genres[i] for i in fusion().frame_probs(head, evidence).argmax(axis=1)]
    assert winners == ["rock", "punk"]


def test_a_genre_without_tags_is_not_handicapped_by_missing_evidence():
    head = np.array([[0.1, 0.8, 0.1]])
    evidence = np.array([[-5.0, 3.0, -5.0, -5.0]])  # a value in disco's column is ignored: it has no tag
    probs = fusion().frame_probs(head, evidence)
    assert fusion().genres[probs.argmax()] == "disco"
    assert probs == pytest.approx(fusion().frame_probs(head, evidence * [1, 0, 1, 1]))


def test_a_tag_only_genre_takes_a_frame_from_a_genre_without_tags_when_its_tags_beat_that_genres_usual_ones():
    head = np.array([[0.1, 0.8, 0.1]] * 2)  # the head hears disco, which has no tag
    evidence = np.array([[-3.0, 0.0, -3.0, -1.5],    # punk tags as likely as disco's own songs' likeliest tags
                         [-3.0, 0.0, -3.0, -0.05]])  # punk tags far likelier than disco's songs usually show

    def winners(fitted: Fusion) -> list[str]:
        return [fitted.genres[i] for i in fitted.frame_probs(head, evidence).argmax(axis=1)]

    assert winners(fusion()) == ["disco", "disco"]  # measured against no evidence, no tag can ever outweigh disco
    assert winners(fusion(untagged_reference=(0.0, -1.5, 0.0))) == ["disco", "punk"]


def test_a_tag_only_genre_is_measured_against_the_tags_of_every_genre_the_head_hears():
    head = np.array([[0.46, 0.08, 0.46]])  # blues or rock, the head cannot tell (blues comes first)
    evidence = np.array([[-3.0, 0.0, -0.2, -1.0]])  # rock's tags are strong, punk's weaker, blues' weak

    def winner(fitted: Fusion) -> str:
        return fitted.genres[fitted.frame_probs(head, evidence).argmax()]

    assert winner(fusion(tag_weight=0.0, head_reference="best")) == "punk"  # beats blues' tags, so it took over
    assert winner(fusion(tag_weight=0.0)) != "punk"  # but rock, as likely, has likelier tags than punk


def test_a_tag_only_genre_wins_more_easily_where_the_head_is_unsure():
    evidence = np.array([[-3.0, 0.0, -1.0, -0.6]] * 2)  # punk tags a little likelier than rock's
    head = np.array([[0.02, 0.03, 0.95],    # the head is sure it hears rock
                     [0.3, 0.3, 0.4]])      # the head hears nothing it knows well

    def head_genre_shares(fitted: Fusion) -> np.ndarray:
        probs = fitted.frame_probs(head, evidence)[:, :3]
        return probs / probs.sum(axis=1, keepdims=True)

    certain, doubting = fusion(tag_weight=0.0), fusion(tag_weight=0.0, doubt_weight=1.0)
    assert [certain.genres[i] for i in certain.frame_probs(head, evidence).argmax(axis=1)] == ["rock", "rock"]
    assert [doubting.genres[i] for i in doubting.frame_probs(head, evidence).argmax(axis=1)] == ["rock", "punk"]
    assert head_genre_shares(doubting) == pytest.approx(head_genre_shares(certain))  # among themselves, unchanged


def test_parameters_round_trip_through_json_including_an_unset_offset():
    fitted = fusion(temperature=1.7, confidence_threshold=0.42, untagged_reference=(0.0, -1.2, 0.0),
                    doubt_weight=2.5)
    assert Fusion.from_dict(fitted.to_dict()) == fitted
    older = fitted.to_dict()
    del older["untagged_reference"], older["doubt_weight"], older["head_reference"]
    assert Fusion.from_dict(older).untagged_reference == ()  # saved before it existed: measured against 0, as then
    assert Fusion.from_dict(older).doubt_weight == 0.0  # the head's doubt did not count then
    assert Fusion.from_dict(older).head_reference == "best"  # nor the head's other genres
    unset = Fusion(HEAD, [], TAGGED[:3])
    assert unset.to_dict()["extra_offset"] is None and Fusion.from_dict(unset.to_dict()) == unset


def synthetic_calibration(rng, n_songs=300) -> Calibration:
    """Songs whose head is right 70% of the time and whose tags (blues, rock) point at the truth."""
    truth = rng.integers(0, 3, n_songs)
    head_probs, evidence = [], []
    for genre in truth:
        frames = int(rng.integers(1, 6))
        guess = genre if rng.random() < 0.7 else int(rng.integers(0, 3))
        head = np.full((frames, 3), 0.15)
        head[:, guess] = 0.7
        tags = rng.normal(-2.0, 0.5, (frames, 4))
        if genre != 1:
            tags[:, genre] += 1.5
        head_probs.append(head)
        evidence.append(tags)
    return Calibration(head_probs, evidence, truth)


def test_fitting_learns_to_trust_informative_tags_and_calibrates():
    data = synthetic_calibration(np.random.default_rng(0))
    fitted = fit_fusion(Fusion(HEAD, EXTRA, TAGGED), data)
    assert fitted.tag_weight > 0.3
    assert 0.05 < fitted.temperature < 20
    frames_flipped = []
    for head, tags in zip(data.head_probs, data.evidence):
        frames_flipped += list(fitted.frame_probs(head, tags).argmax(axis=1) == 3)
    assert np.mean(frames_flipped) <= EXTRA_FALSE_ALARM + 0.02  # the false-alarm budget on labelled frames
    songs = np.stack([fitted.frame_probs(h, e).mean(axis=0) for h, e in zip(data.head_probs, data.evidence)])
    sure = song_confidences(fitted, data) >= fitted.confidence_threshold
    assert sure.any() and (songs.argmax(axis=1)[sure] == data.truth[sure]).mean() >= CONFIDENT_PRECISION


def rock_holdout(rng, n_songs=60) -> Holdout:
    """Rock songs met by a head trained without rock (blues, disco): their rock tags are strong, as real rock's are."""
    head_probs, evidence = [], []
    for _ in range(n_songs):
        frames = int(rng.integers(1, 6))
        head = np.full((frames, 2), 0.2)
        head[:, int(rng.integers(0, 2))] = 0.8  # the head hears whichever genre it knows, with confidence
        tags = rng.normal(-2.0, 0.5, (frames, 4))  # columns: blues, disco, rock, punk
        tags[:, 2] += 1.2
        head_probs.append(head)
        evidence.append(tags)
    template = Fusion(["blues", "disco"], ["rock", "punk"], [True, False, True, True])
    return Holdout(template, Calibration(head_probs, evidence, np.full(n_songs, 2)))


def test_genre_holdouts_set_the_extra_offset_so_tag_only_genres_are_found():
    rng = np.random.default_rng(2)
    data, holdout = synthetic_calibration(rng), rock_holdout(rng)
    budgeted = fit_fusion(Fusion(HEAD, EXTRA, TAGGED), data)
    balanced = fit_fusion(Fusion(HEAD, EXTRA, TAGGED), data, [holdout])

    def recall(fitted: Fusion) -> float:
        probs = song_probs(holdout_fusion(holdout, fitted), holdout.data)
        return float((probs.argmax(axis=1) == 2).mean())

    def known_accuracy(fitted: Fusion) -> float:
        return float((song_probs(fitted, data).argmax(axis=1) == data.truth).mean())

    assert balanced.extra_offset > budgeted.extra_offset
    assert recall(balanced) > recall(budgeted)
    assert known_accuracy(balanced) > 0.6  # the labelled genres are not given up for the tag-only ones
    assert holdout_fusion(holdout, balanced).head_bias == balanced.head_bias[:2]
    assert holdout_fusion(holdout, balanced).untagged_reference == balanced.untagged_reference[:2]
    assert holdout_fusion(holdout, balanced).doubt_weight == balanced.doubt_weight >= 0.0


def test_a_genre_without_tags_is_referenced_by_the_likeliest_tags_of_its_own_labelled_songs():
    data = synthetic_calibration(np.random.default_rng(3))  # every song's tag columns ~ N(-2, 0.5), its own +1.5
    blues, disco, rock = untagged_references(Fusion(HEAD, EXTRA, TAGGED), data)
    assert blues == rock == 0.0  # tagged genres are measured against their own tags, frame by frame
    disco_frames = np.concatenate([e for e, t in zip(data.evidence, data.truth) if t == 1])
    assert np.median(disco_frames) < disco < -1.0  # the likeliest of three tags: above a typical tag, still unlikely
    assert fit_fusion(Fusion(HEAD, EXTRA, TAGGED), data).untagged_reference == (blues, disco, rock)


def test_a_songs_confidence_is_its_frames_when_they_agree_and_falls_when_they_disagree():
    frame = np.array([0.7, 0.2, 0.1])
    assert song_confidence(frame[None]) == pytest.approx(0.7)  # one frame: its own probability
    assert song_confidence(np.tile(frame, (6, 1))) == pytest.approx(0.7)  # agreeing frames: no flatter
    agreeing_mean = np.tile(frame, (6, 1)).mean(axis=0).max()
    mixed = np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1]])
    assert song_confidence(mixed) < mixed[:, 0].mean() < agreeing_mean  # a dissenting frame costs confidence
    # a frame that all but rules the top genre out makes the song unsure, however sure the other frames are
    split = np.array([[0.98, 0.01, 0.01], [0.98, 0.01, 0.01], [1e-4, 0.9, 0.0999]])
    assert split.mean(axis=0).argmax() == 0 and song_confidence(split) < 0.5


def test_the_confidence_threshold_is_the_lowest_that_keeps_sure_songs_right_often_enough():
    top = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5])
    right = np.array([True, True, True, True, False, False])
    assert confidence_threshold(top, right) == 0.7
    assert confidence_threshold(top, np.zeros(6, bool)) == 1.0  # nothing is ever sure


def test_reliability_of_a_perfectly_calibrated_model_has_no_error():
    rng = np.random.default_rng(1)
    confidence = rng.uniform(0.3, 1.0, 20000)
    correct = rng.random(20000) < confidence
    result = reliability(confidence, correct)
    assert result["ece"] < 0.02 and sum(row["songs"] for row in result["bins"]) == 20000
    overconfident = reliability(np.full(1000, 0.9), np.arange(1000) < 500)
    assert overconfident["ece"] == pytest.approx(0.4)
