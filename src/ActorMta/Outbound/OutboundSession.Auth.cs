using Akka.Actor;
using ActorMta.Destinations;
using ActorMta.Smtp;

namespace ActorMta.Outbound;

public sealed partial class OutboundSession
{
    /// <summary>
    /// The conversation's SMTP AUTH part (RFC 4954), for smarthost routes with credentials: PLAIN
    /// with an initial response when offered, else LOGIN; only over TLS unless the route allows
    /// clear text. A host that cannot or will not authenticate us is unusable for this attempt
    /// (the agent tries the next one, then defers): the message never goes out unauthenticated.
    ///
    /// On an early connection (spec Part A, and Exim's EHLO+AUTH flight) the AUTH command rides with
    /// the EHLO when the record shows the mechanism for the phase AUTH happens in; the transaction
    /// then waits for the 235. LOGIN has no initial response (the server prompts for both values), so
    /// its early flight carries <c>AUTH LOGIN</c> alone and the prompts are answered in lock-step, as
    /// Exim's plaintext client does.
    /// </summary>
    private sealed partial class Conversation
    {
        /// <summary><c>plain:user</c> once the server said 235, for the <c>A=</c> of <c>=&gt;</c> lines.</summary>
        private string? _authenticatedAs;

        /// <summary>The mechanism whose AUTH command went in this connection's early flight; its reply is not read yet.</summary>
        private string? _authSentEarly;

        private bool LogsIn => owner._firstJob.Route.Auth is not null;

        /// <summary>The mechanism we use from a server's list: PLAIN first, then LOGIN.</summary>
        private static string? ChooseMechanism(IReadOnlyList<string> offered) =>
            offered.Any(m => m.Equals("PLAIN", StringComparison.OrdinalIgnoreCase)) ? "PLAIN"
            : offered.Any(m => m.Equals("LOGIN", StringComparison.OrdinalIgnoreCase)) ? "LOGIN"
            : null;

        /// <summary>
        /// The mechanism to send early in the given phase: the route logs in, may do so in that phase
        /// (clear text only when it allows clear-text AUTH), and the record's AUTH list for the phase has one we speak.
        /// </summary>
        private string? EarlyAuthMechanism(EarlyPipeRecord record, bool tlsPhase)
        {
            var credentials = owner._firstJob.Route.Auth;
            if (credentials is null || (!tlsPhase && !credentials.AllowCleartext)) return null;
            return ChooseMechanism(tlsPhase ? record.TlsAuth : record.CleartextAuth);
        }

        /// <summary>
        /// Whether a route that logs in may talk early on this connection: its first flight must be one
        /// that needs no AUTH reply before it (EHLO+STARTTLS; after the handshake EHLO+AUTH when the
        /// TLS-phase record allows it, else EHLO alone), or EHLO+AUTH for the phase the record shows it in.
        /// </summary>
        private bool AuthAllowsEarly(EarlyPipeRecord record)
        {
            if (!LogsIn) return true;
            if (_tlsOnConnect) return EarlyAuthMechanism(record, tlsPhase: true) is not null;
            if (_tryStartTls && record.Cleartext.HasFlag(EhloFeatures.StartTls)) return true;
            return EarlyAuthMechanism(record, tlsPhase: false) is not null;
        }

        /// <summary>Appends the AUTH command that opens <paramref name="mechanism"/>'s exchange (to an early flight).</summary>
        private void AppendAuthStart(string mechanism)
        {
            var credentials = owner._firstJob.Route.Auth!;
            if (mechanism == "PLAIN")
                _pipeline!.Append($"AUTH PLAIN {SaslPlain.Encode(credentials.User, credentials.Password)}", Expect.Auth, shown: "AUTH PLAIN");
            else
                _pipeline!.Append("AUTH LOGIN", Expect.Auth);
            _authSentEarly = mechanism;
        }

        private async Task AuthenticateAsync(EhloResponse offered, CancellationToken ct)
        {
            _authenticatedAs = null;
            var credentials = owner._firstJob.Route.Auth;
            if (credentials is null) return;
            var route = owner._firstJob.Route.RouteName;
            var early = _authSentEarly;
            if (early is null && _tls is null && !credentials.AllowCleartext)
            {
                throw new HostFailure($"route {route}: SMTP AUTH to {owner._hop} needs TLS, and the connection is not encrypted " +
                                      "(the server did not offer STARTTLS, or TLS is avoided for it; auth.allow-cleartext is off)");
            }

            // Sent early, the mechanism came from the record; the server's reply to it decides, not its EHLO reply.
            var mechanism = early ?? ChooseMechanism(offered.AuthMechanisms);
            if (mechanism is null)
            {
                var list = offered.AuthMechanisms.Count == 0 ? "none" : string.Join(' ', offered.AuthMechanisms);
                throw new HostFailure($"route {route}: {owner._hop} offers no AUTH mechanism we speak (PLAIN, LOGIN); offered: {list}");
            }

            var pipeline = _pipeline!;
            SmtpReply reply;
            try
            {
                if (early is null) AppendAuthStart(mechanism);
                _authSentEarly = null;
                reply = await ExchangeAsync(pipeline, ct).ConfigureAwait(false);
                if (mechanism == "LOGIN")
                {
                    if (reply.Code == 334)
                    {
                        pipeline.Append(SaslLogin.Encode(credentials.User), Expect.Auth, shown: "AUTH LOGIN user name");
                        reply = await ExchangeAsync(pipeline, ct).ConfigureAwait(false);
                    }

                    if (reply.Code == 334)
                    {
                        pipeline.Append(SaslLogin.Encode(credentials.Password), Expect.Auth, shown: "AUTH LOGIN password");
                        reply = await ExchangeAsync(pipeline, ct).ConfigureAwait(false);
                    }
                }
            }
            catch (ConversationBrokenException broken)
            {
                throw new HostFailure(broken.Message);
            }

            if (reply.Code != 235)
            {
                var refused = $"route {route}: SMTP AUTH {mechanism} as {credentials.User} refused by {owner._hop}: {reply}";
                if (early is not null && (reply.Code == 503 || !offered.AuthMechanisms.Contains(mechanism, StringComparer.OrdinalIgnoreCase)))
                {
                    // The record said AUTH was offered and the server says it is not (503, or its EHLO reply
                    // lists the mechanism no more): the record is stale; forget it, like Exim (its test 4056).
                    // The message is deferred like any other AUTH failure, never sent unauthenticated.
                    owner._destinations.Tell(new EarlyAttemptFailed(owner._key, $"AUTH {mechanism} sent early was refused: {reply}"));
                    throw new HostFailure(refused + " (AUTH was sent early from the remembered EHLO reply, which is now forgotten)");
                }
                throw new HostFailure(refused);
            }

            _authenticatedAs = $"{mechanism.ToLowerInvariant()}:{credentials.User}";
        }

        private static async Task<SmtpReply> ExchangeAsync(ClientPipeline pipeline, CancellationToken ct)
        {
            await pipeline.FlushAsync(ct).ConfigureAwait(false);
            var (reply, _) = await pipeline.NextAsync(Expect.Auth, ct).ConfigureAwait(false);
            return reply;
        }
    }
}
