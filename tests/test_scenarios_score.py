from frontage.scenarios.score import false_cases, score


def case(shop="a", kind="illegal_parking", opened=20.0, cleared=None, cam="cam1"):
    return {"camera_id": cam, "shop_id": shop, "kind": kind, "opened_at_s": opened, "cleared_at_s": cleared}


def test_exact_and_tolerant_matches():
    s = score([case(opened=20, cleared=40)], [case(opened=21.5, cleared=38.5)])
    assert s.perfect and s.recall == s.precision == 1.0


def test_late_opening_is_a_miss_and_a_false_case():
    s = score([case(opened=20)], [case(opened=23)])
    assert (len(s.missed), len(s.spurious), s.recall, s.precision) == (1, 1, 0.0, 0.0)


def test_wrong_shop_or_kind_does_not_match():
    assert not score([case()], [case(shop="b")]).perfect
    assert not score([case()], [case(kind="out_of_store_trading")]).perfect


def test_still_open_must_match_still_open():
    assert not score([case(cleared=None)], [case(cleared=30.0)]).perfect
    assert score([case(cleared=None)], [case(cleared=None)]).perfect


def test_split_case_counts_one_spurious():
    s = score([case(opened=20)], [case(opened=20, cleared=None), case(opened=45)])
    assert (len(s.matched), len(s.spurious), s.precision) == (1, 1, 0.5)


def test_no_expected_and_none_found_is_perfect():
    s = score([], [])
    assert s.perfect and s.recall == 1.0


def test_a_false_case_is_one_no_standing_vehicle_called_for():
    truth = [case(opened=20, cleared=40)]
    late, on_time, early = case(opened=35), case(opened=19), case(opened=17)
    after, elsewhere, other_cam = case(opened=41), case(shop="b", opened=25), case(cam="cam2", opened=25)
    # Late, even cleared at another time, is not false (the rules may wait); early, after it left, at another
    # shop or on another camera is.
    assert false_cases(truth, [late, on_time, early, after, elsewhere, other_cam]) == [early, after, elsewhere,
                                                                                      other_cam]  # fmt: skip
    assert false_cases([case(opened=20, cleared=None)], [case(opened=500)]) == []  # still standing
