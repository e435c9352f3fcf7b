using ActorMta.Smtp;

namespace ActorMta.Outbound;

public sealed partial class OutboundSession
{
    /// <summary>
    /// The conversation's SMTP AUTH part (RFC 4954), for smarthost routes with credentials: PLAIN
    /// with an initial response when offered, else LOGIN; only over TLS unless the route allows
    /// clear text. A host that cannot or will not authenticate us is unusable for this attempt
    /// (the agent tries the next one, then defers): the message never goes out unauthenticated.
    /// </summary>
    private sealed partial class Conversation
    {
        /// <summary><c>plain:user</c> once the server said 235, for the <c>A=</c> of <c>=&gt;</c> lines.</summary>
        private string? _authenticatedAs;

        private async Task AuthenticateAsync(EhloResponse offered, CancellationToken ct)
        {
            _authenticatedAs = null;
            var credentials = owner._firstJob.Route.Auth;
            if (credentials is null) return;
            var route = owner._firstJob.Route.RouteName;
            if (_tls is null && !credentials.AllowCleartext)
            {
                throw new HostFailure($"route {route}: SMTP AUTH to {owner._hop} needs TLS, and the connection is not encrypted " +
                                      "(the server did not offer STARTTLS, or TLS is avoided for it; auth.allow-cleartext is off)");
            }

            string? mechanism = offered.AuthMechanisms.FirstOrDefault(m => m.Equals("PLAIN", StringComparison.OrdinalIgnoreCase)) is not null ? "PLAIN"
                : offered.AuthMechanisms.FirstOrDefault(m => m.Equals("LOGIN", StringComparison.OrdinalIgnoreCase)) is not null ? "LOGIN"
                : null;
            if (mechanism is null)
            {
                var list = offered.AuthMechanisms.Count == 0 ? "none" : string.Join(' ', offered.AuthMechanisms);
                throw new HostFailure($"route {route}: {owner._hop} offers no AUTH mechanism we speak (PLAIN, LOGIN); offered: {list}");
            }

            var pipeline = _pipeline!;
            SmtpReply reply;
            try
            {
                if (mechanism == "PLAIN")
                {
                    pipeline.Append($"AUTH PLAIN {SaslPlain.Encode(credentials.User, credentials.Password)}", Expect.Auth, shown: "AUTH PLAIN");
                    reply = await ExchangeAsync(pipeline, ct).ConfigureAwait(false);
                }
                else
                {
                    pipeline.Append("AUTH LOGIN", Expect.Auth);
                    reply = await ExchangeAsync(pipeline, ct).ConfigureAwait(false);
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
                throw new HostFailure($"route {route}: SMTP AUTH {mechanism} as {credentials.User} refused by {owner._hop}: {reply}");
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
