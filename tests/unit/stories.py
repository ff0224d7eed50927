"""Short English stories written for the dedup tests: one story and an unrelated one."""

HARBOUR_STORY = (
    "The harbour authority said on Monday that the northern ferry terminal will close for repairs "
    "from the first of March. Passengers travelling to the islands should use the southern pier, "
    "where two extra crossings a day have been added. The works, budgeted at four million euros, "
    "are expected to last eleven weeks. A spokesperson said the old ramp had been damaged in the "
    "winter storms and could no longer carry lorries safely. Local shops near the terminal asked "
    "for compensation, saying the closure falls in their busiest season."
)
FOOTBALL_STORY = (
    "The national football team lost two to one against its neighbours on Saturday evening, "
    "ending a run of seven matches without defeat. The coach blamed a tired defence and said he "
    "would rotate the squad before the qualifier next month. Supporters booed the late substitution "
    "of the captain, who had scored the only goal shortly after half time."
)
