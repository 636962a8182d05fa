import { routineRegistry } from "@/lib";

// The catalogue depends on what the running process registered, so render per request.
export const dynamic = "force-dynamic";

export default function Home() {
  const types = routineRegistry.list();
  return (
    <main>
      <h1>Routilux</h1>
      <p className="muted">Event-driven workflows with monitoring and a visual debugger.</p>
      <section aria-label="Routine types" className="types" data-testid="routine-types">
        {types.map((t) => (
          <article key={t.name} className="type" data-testid={`routine-type-${t.name}`}>
            <h2>{t.name}</h2>
            <p>{t.description}</p>
            <div className="ports">
              in: {t.slots.map((s) => s.name).join(", ") || "—"} · out: {t.events.map((e) => e.name).join(", ") || "—"}
            </div>
          </article>
        ))}
      </section>
    </main>
  );
}
