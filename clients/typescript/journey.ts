// A patient's and a practice administrator's day, through types generated from the API's
// schema (openapi-typescript) and openapi-fetch, as a web frontend team would write them.
//
//   npm ci
//   SCHEMA=http://localhost:8000/api/schema/?format=json npm run generate
//   npm run check                                       # tsc --noEmit
//   npm run journey -- http://localhost:8000 ../../.local/mail
//
// tests/test_generated_clients.py does exactly that in CI: a schema change that breaks this
// consumer fails the build.

import { randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Appointment = components["schemas"]["Appointment"];

const PRACTICE = "Y90001";
const ADMIN = { email: "practice.admin@demo.gp-booking.test", password: "Demo-Pass-123!" };

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function must<T>(data: T | undefined, error: unknown, what: string): T {
  check(data !== undefined, `${what} failed: ${JSON.stringify(error)}`);
  return data;
}

function api(baseUrl: string, token?: string) {
  return createClient<paths>({
    baseUrl,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
}

async function confirmationToken(mailDir: string, email: string): Promise<string> {
  for (let attempt = 0; attempt < 60; attempt++) {
    const names = existsSync(mailDir) ? readdirSync(mailDir) : [];
    for (const name of names.filter((n) => n.endsWith(".txt")).sort()) {
      const text = readFileSync(join(mailDir, name), "utf8");
      if (text.includes(`To: ${email}\n`) && text.includes("verify-email?token=")) {
        return text.split("verify-email?token=")[1]!.split(/\s/)[0]!;
      }
    }
    await sleep(500);
  }
  throw new Error(`no confirmation email to ${email} in ${mailDir}`);
}

async function signIn(baseUrl: string, email: string, password: string): Promise<string> {
  const { data, error } = await api(baseUrl).POST("/api/v1/auth/login", {
    body: { email, password },
  });
  return must(data, error, "sign-in").access;
}

async function patientJourney(baseUrl: string, mailDir: string): Promise<void> {
  const anonymous = api(baseUrl);
  const email = `ts-${randomUUID().slice(0, 10)}@example.com`;
  const password = "Typed-Pass-42!";

  const registered = await anonymous.POST("/api/v1/auth/register", {
    body: { email, password, practice_id: PRACTICE },
  });
  check(registered.response.status === 202, "register answers 202");
  const confirmed = await anonymous.POST("/api/v1/auth/verify-email", {
    body: { token: await confirmationToken(mailDir, email), password },
  });
  must(confirmed.data, confirmed.error, "confirming the address");

  const patient = api(baseUrl, await signIn(baseUrl, email, password));
  const me = await patient.GET("/api/v1/auth/me");
  check(must(me.data, me.error, "me").email_verified, "the address is confirmed");

  const types = await anonymous.GET("/api/v1/practices/{ods_code}/appointment-types", {
    params: { path: { ods_code: PRACTICE } },
  });
  check(must(types.data, types.error, "types").every((t) => t.name.length > 0), "types named");

  const today = new Date().toISOString().slice(0, 10);
  const fortnight = new Date(Date.now() + 13 * 86_400_000).toISOString().slice(0, 10);
  const search = async (page: number) => {
    const { data, error } = await patient.GET("/api/v1/practices/{ods_code}/availability", {
      params: {
        path: { ods_code: PRACTICE },
        query: { start: today, end: fortnight, page, page_size: 5 },
      },
    });
    return must(data, error, `availability page ${page}`).results;
  };
  const [first, second] = [await search(1), await search(2)];
  check(first[0] && second[0] && first[0].id !== second[0].id, "pages differ");
  const slot = first[0];

  const key = randomUUID();
  const book = () =>
    patient.POST("/api/v1/appointments", {
      params: { header: { "Idempotency-Key": key } },
      body: { slot_id: slot.id },
    });
  const booked = await book();
  const appointment: Appointment = must(booked.data, booked.error, "booking");
  check(booked.response.status === 201, "a booking answers 201");
  check(booked.response.headers.get("Location")?.endsWith(appointment.id), "Location");
  const replayed = await book();
  check(replayed.response.headers.get("Idempotent-Replayed") === "true", "replayed");
  check(replayed.data?.id === appointment.id, "the replay is the same appointment");

  const taken = await patient.POST("/api/v1/appointments", { body: { slot_id: slot.id } });
  check(taken.response.status === 409, "a taken slot is a 409");
  const problem = taken.error;
  const alternative =
    problem && "alternatives" in problem ? problem.alternatives?.[0] : undefined;
  check(alternative, "a 409 offers alternatives");

  const read = await patient.GET("/api/v1/appointments/{id}", {
    params: { path: { id: appointment.id } },
  });
  const etag = read.response.headers.get("ETag");
  check(etag, "an appointment carries its ETag");
  const move = (ifMatch: string) =>
    patient.POST("/api/v1/appointments/{id}/reschedule", {
      params: { path: { id: appointment.id }, header: { "If-Match": ifMatch } },
      body: { slot_id: alternative.slot_id },
    });
  const stale = await move('"999"');
  check(stale.response.status === 412 && stale.error?.code === "stale_version", "stale is 412");
  const moved = await move(etag);
  check(must(moved.data, moved.error, "reschedule").slot_id === alternative.slot_id, "moved");

  const cancelled = await patient.POST("/api/v1/appointments/{id}/cancel", {
    params: { path: { id: appointment.id } },
    body: { reason: "Feeling better" },
  });
  check(must(cancelled.data, cancelled.error, "cancel").status === "cancelled", "cancelled");

  const log = await patient.GET("/api/v1/auth/me/access-log");
  check(must(log.data, log.error, "access log").results.length > 0, "the access log lists");
}

async function staffJourney(baseUrl: string): Promise<void> {
  const staff = api(baseUrl, await signIn(baseUrl, ADMIN.email, ADMIN.password));
  const me = await staff.GET("/api/v1/auth/me");
  const practices = must(me.data, me.error, "me").practices;
  check(practices.some((p) => p.ods_code === PRACTICE && p.role === "admin"), "works there");

  // The day list, then an outcome: did-not-attend for one that has started (within the
  // week), or else arrived for one later today.
  const now = new Date();
  const midnight = new Date(now);
  midnight.setUTCHours(24, 0, 0, 0);
  const windows = [
    { start: new Date(now.getTime() - 7 * 86_400_000), end: now, outcome: "did_not_attend" },
    { start: now, end: midnight, outcome: "arrived" },
  ] as const;
  for (const { start, end, outcome } of windows) {
    const day = await staff.GET("/api/v1/appointments", {
      params: {
        query: {
          practice: PRACTICE,
          status: "booked",
          start: start.toISOString(),
          end: end.toISOString(),
        },
      },
    });
    const due = must(day.data, day.error, "the day list").results[0];
    if (!due) continue;
    const read = await staff.GET("/api/v1/appointments/{id}", {
      params: { path: { id: due.id } },
    });
    const etag = read.response.headers.get("ETag") ?? "*";
    const recorded = await staff.POST("/api/v1/appointments/{id}/outcome", {
      params: { path: { id: due.id }, header: { "If-Match": etag } },
      body: { outcome },
    });
    check(must(recorded.data, recorded.error, "outcome").status === outcome, "recorded");
    console.log(`outcome recorded: ${outcome}`);
    return;
  }
  console.log("no appointment is due an outcome today");
}

const [baseUrl, mailDir] = process.argv.slice(2);
check(baseUrl && mailDir, "usage: node build/journey.js BASE_URL MAIL_DIR");
await patientJourney(baseUrl, mailDir);
await staffJourney(baseUrl);
console.log("patient and staff journeys passed");
