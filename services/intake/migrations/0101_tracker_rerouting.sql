-- The tracker follows a need through re-routing, linking and SLA escalation.

-- Attempt number of the need's latest referral of its own (0 before the first): a request
-- of an earlier attempt is a superseded referral's and must not move the need back.
ALTER TABLE tracked_needs ADD COLUMN referral_attempt INT NOT NULL DEFAULT 0;
-- Highest escalation step any of the need's referrals reached; 0 when never escalated.
ALTER TABLE tracked_needs ADD COLUMN escalation_level INT NOT NULL DEFAULT 0;
-- The SLA clock ('response' or 'resolution') that ran out and has not been met since.
ALTER TABLE tracked_needs ADD COLUMN overdue_clock TEXT;
