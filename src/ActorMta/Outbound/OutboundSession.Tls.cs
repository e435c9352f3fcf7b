using Akka.Actor;
using Akka.Event;
using ActorMta.Destinations;
using ActorMta.Metrics;
using ActorMta.Outbound.Tls;
using ActorMta.Smtp;

namespace ActorMta.Outbound;

public sealed partial class OutboundSession
{
    /// <summary>
    /// The conversation's TLS part: STARTTLS (lock-step or in the early flight, spec rules 10-11),
    /// TLS on connect, the per-host policy (avoid, require, verify) and the clear-text fallback.
    /// </summary>
    private sealed partial class Conversation
    {
        /// <summary>The remote port speaks TLS from the first byte: no STARTTLS, and every EHLO is a TLS-phase one.</summary>
        private bool _tlsOnConnect;

        /// <summary>STARTTLS when offered; false for avoided hosts, after a failed handshake, and while the destination remembers one.</summary>
        private bool _tryStartTls;

        /// <summary>The TLS session of the current connection, null in clear text.</summary>
        private TlsSessionFacts? _tls;

        /// <summary>The first job's transaction is already in the pipeline (an early flight).</summary>
        private bool _firstAppended;

        private bool Required => _settings.Tls.HostsRequireTls.Matches(owner._hop.Address, owner._hop.HostName);
        private bool MustVerify => _settings.Tls.HostsVerifyTls.Matches(owner._hop.Address, owner._hop.HostName);

        /// <summary>Exim's tls_tempfail_tryclear: only for hosts whose policy does not insist on TLS.</summary>
        private bool MayFallBackToClear => _settings.Tls.TempfailTryClear && !Required && !MustVerify;

        private void DecideTls()
        {
            var tls = _settings.Tls;
            _tlsOnConnect = tls.TlsOnConnectPorts.Contains(owner._hop.Port);
            var avoided = tls.HostsAvoidTls.Matches(owner._hop.Address, owner._hop.HostName) && !Required;
            var remembered = owner._clearTextUntil is { } until && until > DateTimeOffset.UtcNow && MayFallBackToClear;
            _tryStartTls = !_tlsOnConnect && !avoided && !remembered;
        }

        /// <summary>
        /// Rule 9 with TLS: on a TLS-on-connect port the TLS-phase record decides; else the cleartext one,
        /// and a host that requires TLS is never sent a transaction in an early cleartext flight.
        /// </summary>
        private bool CanTalkEarly(EarlyPipeRecord record)
        {
            const EhloFeatures early = EhloFeatures.PipeConnect | EhloFeatures.Pipelining;
            if (_tlsOnConnect) return (record.Tls & early) == early;
            if ((record.Cleartext & early) != early) return false;
            return !Required || (_tryStartTls && record.Cleartext.HasFlag(EhloFeatures.StartTls));
        }

        /// <summary>Handshake on the current connection; the pipeline then reads and writes through TLS.</summary>
        private async Task StartTlsSessionAsync(CancellationToken ct)
        {
            _tls = await ClientTls.HandshakeAsync(_connection!, owner._hop, _settings.Tls, MustVerify, _settings.CommandTimeout, ct)
                .ConfigureAwait(false);
        }

        /// <summary>
        /// STARTTLS was sent: read its reply, refuse injected responses (rule 11), handshake, and say EHLO
        /// again (RFC 3207 4.2: what the cleartext EHLO said no longer counts). With a TLS-phase record that
        /// offers PIPECONNECT the transaction goes in the same TLS write as that EHLO (rule 10).
        /// </summary>
        private async Task<EhloResponse> AfterStartTlsAsync(EhloResponse clear, EarlyPipeRecord? record, OutboundJob job, bool more, CancellationToken ct)
        {
            var pipeline = _pipeline!;
            SmtpReply reply;
            try
            {
                (reply, _) = await pipeline.NextAsync(Expect.StartTls, ct).ConfigureAwait(false);
            }
            catch (ConversationBrokenException broken)
            {
                throw new HostFailure(broken.Message);
            }
            if (reply.Code != 220)
            {
                // Exim goes on in clear text on the same connection unless the host requires TLS.
                if (Required) throw new HostFailure($"TLS required for {owner._hop} but STARTTLS was refused: {reply}");
                owner._log.Warning("{0}: STARTTLS refused ({1}); delivering in clear text", owner._hop, reply);
                return clear;
            }
            if (pipeline.Unconsumed > 0)
            {
                // Bytes after the 220 were sent before TLS by someone who may not be the server: never read them as replies.
                throw new HostFailure($"TLS session: {pipeline.Unconsumed} byte(s) received after the STARTTLS 220 from {owner._hop} " +
                                      "before the handshake (response injection?): connection dropped");
            }

            await StartTlsSessionAsync(ct).ConfigureAwait(false);

            pipeline.Append($"EHLO {_settings.HeloName}", Expect.Ehlo);
            const EhloFeatures early = EhloFeatures.PipeConnect | EhloFeatures.Pipelining;
            if (_early && record is not null && (record.Tls & early) == early)
            {
                if (LogsIn)
                {
                    // EHLO+AUTH when the TLS-phase record shows the mechanism; else EHLO alone, AUTH after its reply.
                    if (EarlyAuthMechanism(record, tlsPhase: true) is { } mechanism) AppendAuthStart(mechanism);
                }
                else
                {
                    await AppendTransactionAsync(job, FromRecord(record, tlsPhase: true), quitWithIt: QuitWith(more, 1), ct).ConfigureAwait(false);
                    _firstAppended = true;
                }
            }
            SmtpReply ehlo;
            try
            {
                await pipeline.FlushAsync(ct).ConfigureAwait(false);
                (ehlo, _) = await pipeline.NextAsync(Expect.Ehlo, ct).ConfigureAwait(false);
            }
            catch (ConversationBrokenException broken)
            {
                if (_early) throw new EarlyAttemptFailure($"early pipelining: after STARTTLS: {broken.Message}", EarlyFallbackReason.ConnectionLost);
                throw new HostFailure(broken.Message);
            }
            if (ehlo.Code / 100 != 2)
            {
                // Rule 12 covers the TLS-phase EHLO of an early connection too.
                if (_early) throw new EarlyAttemptFailure($"early pipelining: EHLO after STARTTLS refused: {ehlo}", EarlyFallbackReason.Ehlo);
                throw new HostFailure($"SMTP error from remote mail server after EHLO (TLS): {ehlo}");
            }
            var offered = EhloResponse.Parse(ehlo);
            Learn(offered, early: _early, tlsPhase: true);
            return offered;
        }

        /// <summary>hosts-require-tls: no message goes to such a host in clear text.</summary>
        private void RequireTls()
        {
            if (_tls is null && Required)
                throw new HostFailure($"TLS required for {owner._hop} but the server does not offer STARTTLS");
        }

        /// <summary>An opportunistic host's handshake failed: log it, have the destination remember it, go on in clear.</summary>
        private void FallBackToClear(TlsHandshakeException failure)
        {
            var until = DateTimeOffset.UtcNow + _settings.Tls.ClearAfterFailure;
            owner._log.Warning("{0}; trying again in clear text, and without TLS to this host until {1:yyyy-MM-dd HH:mm:ss}",
                failure.Message, until);
            owner._destinations.Tell(new TlsFailed(owner._key, failure.Message, until));
            _tryStartTls = false;
        }
    }
}
