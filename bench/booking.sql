-- What the booking transaction does, as plain SQL, for pgbench: lock the slot and the patient,
-- read the patient's live appointments, insert the appointment, mark the slot, write the
-- history, outbox and audit rows. Rolled back, so every transaction finds the slot free.
\set n random(1, :slots)
BEGIN;
SELECT s.id, s.status FROM practices_slot s JOIN bench_slot b ON b.slot_id = s.id WHERE b.n = :n FOR UPDATE OF s;
SELECT u.id FROM accounts_user u JOIN bench_slot b ON b.patient_id = u.id WHERE b.n = :n FOR UPDATE OF u;
SELECT a.practice_id, a.start, a."end" FROM booking_appointment a JOIN bench_slot b ON b.patient_id = a.patient_id
  WHERE b.n = :n AND a.status <> 'cancelled' AND a."end" > now();
WITH booked AS (
  INSERT INTO booking_appointment (id, reference, patient_id, practice_id, slot_id, clinician_id, start, "end",
    appointment_type, channel, status, description, comment, cancellation_reason, booked_by_id,
    created_at, updated_at, version)
  SELECT gen_random_uuid(), upper(substr(md5(random()::text), 1, 9)), b.patient_id, s.practice_id, s.id,
    s.clinician_id, s.start, s."end", s.slot_type, s.channel, 'booked', '', '', '', b.patient_id, now(), now(), 1
  FROM practices_slot s JOIN bench_slot b ON b.slot_id = s.id WHERE b.n = :n
  RETURNING id, patient_id
)
INSERT INTO booking_appointmenthistory (appointment_id, at, actor_id, action, from_status, to_status, reason, source, details)
SELECT id, now(), patient_id, 'booked', '', 'booked', '', 'api', '{}' FROM booked;
UPDATE practices_slot SET status = 'booked' WHERE id = (SELECT slot_id FROM bench_slot WHERE n = :n);
INSERT INTO accounts_auditevent (at, actor_id, actor_role, action, object_type, object_id, patient_id, allowed, source_address, request_id, path)
SELECT now(), patient_id, 'patient', 'api.appointment.create', 'appointment', '', patient_id, true, '127.0.0.1', 'pgbench', '/api/v1/appointments'
FROM bench_slot WHERE n = :n;
ROLLBACK;
