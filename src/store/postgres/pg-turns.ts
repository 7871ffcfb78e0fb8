/**
 * Turns across hosts: the start-time fair queueing of src/scheduler/fair-turns.ts, kept in
 * the database so every host's claims follow it (migration 6). A new row takes its group's
 * next turn (group_turns; '' stands for the tasks without a group), never below the queue's
 * turn (queue_turns: the largest turn claimed so far), and its group's counter moves past it.
 * Claims walk a priority's ready rows by turn, then seq: a group that arrives with 10 tasks
 * while another has 100,000 queued gets turns from the current one on, interleaved with the
 * big group's next ones, and a group that was idle gains no credit.
 *
 * Without groups every row is in one group and turns follow submit order: a group's counter
 * row is locked by the INSERT that takes turns from it until that INSERT's transaction
 * commits, so a second host's rows take their turns (and their seqs) after the first's.
 * The price: submits of one group from several hosts commit one after the other.
 */

/** The groups' counters are locked in name order, so two inserts never wait for each other in a circle. */
export function turnsCte(queueParam: string, input: string): string {
  return `clock AS (SELECT coalesce((SELECT turn FROM offthread.queue_turns WHERE queue = ${queueParam}), 0) AS now),
    counts AS (SELECT coalesce(group_name, '') AS g, count(*) AS n FROM ${input} GROUP BY 1),
    bumped AS (
      INSERT INTO offthread.group_turns AS c (queue, group_name, next_turn)
      SELECT ${queueParam}, g, (SELECT now FROM clock) + n FROM counts ORDER BY g
      ON CONFLICT (queue, group_name) DO UPDATE
        SET next_turn = GREATEST(c.next_turn, (SELECT now FROM clock)) + (EXCLUDED.next_turn - (SELECT now FROM clock))
      RETURNING group_name AS g, next_turn),
    turns AS (SELECT b.g, b.next_turn - k.n AS first FROM bumped b JOIN counts k ON k.g = b.g)`;
}

/**
 * The turn of each row of `input` (numbered by `ordinal`, joined to `turns` on its group):
 * its group's first turn of this insert, plus how many of its group come before it.
 */
export function rowTurn(input: string, ordinal: string): string {
  return `turns.first + row_number() OVER (PARTITION BY turns.g ORDER BY ${input}.${ordinal}) - 1`;
}

/** Joins each row of `input` to its group's turns (a join: a subquery per row read every group's). */
export function joinTurns(input: string): string {
  return `JOIN turns ON turns.g = coalesce(${input}.group_name, '')`;
}

/**
 * A claim took rows up to turn `maxTurn` (a subquery): the queue's turn moves up to it, so
 * a group that starts now takes turns from there. Written only when it moves.
 */
export function advanceClock(queueParam: string, maxTurn: string): string {
  return `UPDATE offthread.queue_turns q SET turn = m.turn FROM (${maxTurn}) AS m(turn)
     WHERE q.queue = ${queueParam} AND m.turn IS NOT NULL AND q.turn < m.turn`;
}

/** A queue's clock row, made when a host opens it (a claim only updates it). */
export const ENSURE_CLOCK = `INSERT INTO offthread.queue_turns (queue, turn) VALUES ($1, 0) ON CONFLICT (queue) DO NOTHING`;

/** Counters behind the queue's turn say nothing a missing one would not: dropped by the poll. */
export const PRUNE_COUNTERS = `DELETE FROM offthread.group_turns c
  WHERE c.queue = $1 AND c.next_turn <= (SELECT turn FROM offthread.queue_turns WHERE queue = $1)`;
