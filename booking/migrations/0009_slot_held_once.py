"""A slot is held by one live appointment, whether as its first slot or as one of the later
slots of an appointment spanning several: a constraint across two tables, which only a trigger
can state (booking_one_appointment_per_slot and booking_extra_slot_once each cover one table).

The trigger locks the slot's row before it looks (the booking commands hold that lock
already), so two transactions writing the two kinds of row for one slot are ordered and the
second sees the first. Its error names the constraint booking_slot_held_once, which the
booking commands answer as "slot taken".
"""

from django.db import migrations

FUNCTION = """
CREATE FUNCTION booking_slot_held_once() RETURNS trigger AS $$
BEGIN
    IF TG_TABLE_NAME = 'booking_appointment' THEN
        IF NEW.status = 'cancelled' THEN
            RETURN NEW;
        END IF;
        PERFORM 1 FROM practices_slot WHERE id = NEW.slot_id FOR UPDATE;
        IF EXISTS (
            SELECT 1 FROM booking_appointmentextraslot
            WHERE slot_id = NEW.slot_id AND NOT released AND appointment_id <> NEW.id
        ) THEN
            RAISE EXCEPTION 'slot % is held by another appointment', NEW.slot_id
                USING ERRCODE = 'unique_violation', CONSTRAINT = 'booking_slot_held_once';
        END IF;
    ELSE
        IF NEW.released THEN
            RETURN NEW;
        END IF;
        PERFORM 1 FROM practices_slot WHERE id = NEW.slot_id FOR UPDATE;
        IF EXISTS (
            SELECT 1 FROM booking_appointment
            WHERE slot_id = NEW.slot_id AND status <> 'cancelled' AND id <> NEW.appointment_id
        ) THEN
            RAISE EXCEPTION 'slot % is held by another appointment', NEW.slot_id
                USING ERRCODE = 'unique_violation', CONSTRAINT = 'booking_slot_held_once';
        END IF;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER booking_appointment_slot_held_once
    BEFORE INSERT OR UPDATE OF slot_id, status ON booking_appointment
    FOR EACH ROW EXECUTE FUNCTION booking_slot_held_once();

CREATE TRIGGER booking_extraslot_slot_held_once
    BEFORE INSERT OR UPDATE OF slot_id, released ON booking_appointmentextraslot
    FOR EACH ROW EXECUTE FUNCTION booking_slot_held_once();
"""

REVERSE = """
DROP TRIGGER booking_extraslot_slot_held_once ON booking_appointmentextraslot;
DROP TRIGGER booking_appointment_slot_held_once ON booking_appointment;
DROP FUNCTION booking_slot_held_once();
"""


class Migration(migrations.Migration):
    dependencies = [("booking", "0008_gp_connect")]

    operations = [migrations.RunSQL(FUNCTION, REVERSE)]
