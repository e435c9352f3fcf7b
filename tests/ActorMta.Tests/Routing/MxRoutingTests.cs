using System.Net;
using ActorMta.Routing;

namespace ActorMta.Tests.Routing;

/// <summary>MX routing against a fake DNS server: RFC 5321 section 5.1 and RFC 7505.</summary>
public sealed class MxRoutingTests
{
    private static string[] Names(RemoteRoute route) => [.. route.Hops.Select(h => h.HostName)];

    private static string[] Addresses(RemoteRoute route) => [.. route.Hops.Select(h => h.Address.ToString())];

    [Fact]
    public async Task MxHostsAreTriedInPreferenceOrder()
    {
        using var h = RoutingHarness.Start();
        h.Dns.Mx("example.test", 20, "mx2.example.test").Mx("example.test", 10, "mx1.example.test").Mx("example.test", 30, "mx3.example.test")
            .A("mx1.example.test", "198.51.100.1").A("mx2.example.test", "198.51.100.2").A("mx3.example.test", "198.51.100.3");

        RemoteRoute route = await h.RemoteAsync("example.test");

        Assert.Equal("dnslookup", route.RouteName);
        Assert.Equal(["mx1.example.test", "mx2.example.test", "mx3.example.test"], Names(route));
        Assert.Equal(["198.51.100.1", "198.51.100.2", "198.51.100.3"], Addresses(route));
        Assert.Equal([10, 20, 30], route.Hops.Select(x => x.Preference));
        Assert.All(route.Hops, x => Assert.Equal(25, x.Port));
    }

    [Fact]
    public async Task EqualPreferencesComeInRandomOrder()
    {
        using var h = RoutingHarness.Start();
        h.Dns.Mx("example.test", 5, "first.example.test").Mx("example.test", 10, "a.example.test").Mx("example.test", 10, "b.example.test")
            .A("first.example.test", "198.51.100.5").A("a.example.test", "198.51.100.1").A("b.example.test", "198.51.100.2");

        var orders = new HashSet<string>();
        for (int i = 0; i < 50; i++)
        {
            RemoteRoute route = await h.RemoteAsync("example.test");
            Assert.Equal("first.example.test", route.Hops[0].HostName);
            orders.Add(string.Join(",", Names(route).Skip(1)));
        }

        Assert.Equal(["a.example.test,b.example.test", "b.example.test,a.example.test"], orders.Order());
    }

    [Fact]
    public async Task AddressesInTheAdditionalSectionSaveAQuery()
    {
        using var h = RoutingHarness.Start(s => s with { UseIPv6 = false });
        h.Dns.Mx("example.test", 10, "mx1.example.test").A("mx1.example.test", "198.51.100.1");

        RemoteRoute route = await h.RemoteAsync("example.test");

        Assert.Equal(["198.51.100.1"], Addresses(route));
        Assert.Equal(1, h.Dns.Queries("example.test", "MX"));
        Assert.Equal(0, h.Dns.Queries("mx1.example.test", "A"));
    }

    [Fact]
    public async Task WithoutAdditionalRecordsTheMxNamesAreQueried()
    {
        using var h = RoutingHarness.Start();
        h.Dns.IncludeAdditionals = false;
        h.Dns.Mx("example.test", 10, "mx1.example.test").A("mx1.example.test", "198.51.100.1").Aaaa("mx1.example.test", "2001:db8::1");

        RemoteRoute route = await h.RemoteAsync("example.test");

        Assert.Equal(["198.51.100.1", "2001:db8::1"], Addresses(route));
        Assert.Equal(1, h.Dns.Queries("mx1.example.test", "A"));
        Assert.Equal(1, h.Dns.Queries("mx1.example.test", "AAAA"));
    }

    [Fact]
    public async Task IPv4ComesFirstUnlessIPv6IsPreferred()
    {
        using var v4First = RoutingHarness.Start();
        v4First.Dns.Mx("example.test", 10, "mx.example.test").Aaaa("mx.example.test", "2001:db8::1").A("mx.example.test", "198.51.100.1");
        Assert.Equal(["198.51.100.1", "2001:db8::1"], Addresses(await v4First.RemoteAsync("example.test")));

        using var v6First = RoutingHarness.Start(s => s with { PreferIPv6 = true });
        v6First.Dns.Mx("example.test", 10, "mx.example.test").Aaaa("mx.example.test", "2001:db8::1").A("mx.example.test", "198.51.100.1");
        Assert.Equal(["2001:db8::1", "198.51.100.1"], Addresses(await v6First.RemoteAsync("example.test")));
    }

    [Fact]
    public async Task WithoutIPv6NoAaaaIsAskedAndNoIPv6HopReturned()
    {
        using var h = RoutingHarness.Start(s => s with { UseIPv6 = false });
        h.Dns.IncludeAdditionals = false;
        h.Dns.Mx("example.test", 10, "mx.example.test").Aaaa("mx.example.test", "2001:db8::1").A("mx.example.test", "198.51.100.1");

        Assert.Equal(["198.51.100.1"], Addresses(await h.RemoteAsync("example.test")));
        Assert.Equal(0, h.Dns.Queries("mx.example.test", "AAAA"));
    }

    [Fact]
    public async Task WithoutMxTheDomainItselfIsTheImplicitMx()
    {
        using var h = RoutingHarness.Start();
        h.Dns.A("plain.test", "198.51.100.7").Aaaa("plain.test", "2001:db8::7");

        RemoteRoute route = await h.RemoteAsync("plain.test");

        Assert.Equal([new NextHop("plain.test", IPAddress.Parse("198.51.100.7"), 25, 0), new NextHop("plain.test", IPAddress.Parse("2001:db8::7"), 25, 0)], route.Hops);
    }

    [Fact]
    public async Task ADomainWithNeitherMxNorAddressFailsPermanently()
    {
        using var h = RoutingHarness.Start();
        h.Dns.Txt("nomail.test");

        RouteFailed failed = await h.FailedAsync("nomail.test");

        Assert.True(failed.Permanent, failed.Reason);
        Assert.Equal((550, "5.1.2"), (failed.Code, failed.EnhancedCode));
    }

    [Fact]
    public async Task NullMxFailsPermanentlyWith556()
    {
        using var h = RoutingHarness.Start();
        h.Dns.Mx("nullmx.test", 0, ".").A("nullmx.test", "198.51.100.9");

        RouteFailed failed = await h.FailedAsync("nullmx.test");

        Assert.Equal(new RouteFailed(true, 556, "5.1.10", "Recipient address has null MX"), failed);
    }

    [Fact]
    public async Task ANullMxAmongOtherMxRecordsIsIgnored()
    {
        using var h = RoutingHarness.Start();
        h.Dns.Mx("mixed.test", 0, ".").Mx("mixed.test", 10, "mx.mixed.test").A("mx.mixed.test", "198.51.100.1");

        Assert.Equal(["mx.mixed.test"], Names(await h.RemoteAsync("mixed.test")));
    }

    [Fact]
    public async Task NxDomainFailsPermanently()
    {
        using var h = RoutingHarness.Start();

        RouteFailed failed = await h.FailedAsync("nowhere.test");

        Assert.True(failed.Permanent, failed.Reason);
        Assert.Equal((550, "5.1.2"), (failed.Code, failed.EnhancedCode));
        Assert.Contains("domain not found", failed.Reason);
    }

    [Theory]
    [InlineData(FakeDnsFailure.ServFail, "SERVFAIL")]
    [InlineData(FakeDnsFailure.Refused, "REFUSED")]
    [InlineData(FakeDnsFailure.Timeout, "timeout")]
    public async Task ServerTroubleFailsTemporarily(FakeDnsFailure trouble, string said)
    {
        using var h = RoutingHarness.Start();
        h.Dns.Mx("broken.test", 10, "mx.broken.test").A("mx.broken.test", "198.51.100.1").Fail("broken.test", trouble);

        RouteFailed failed = await h.FailedAsync("broken.test");

        Assert.False(failed.Permanent, failed.Reason);
        Assert.Equal((451, "4.4.3"), (failed.Code, failed.EnhancedCode));
        Assert.Contains(said, failed.Reason);
    }

    [Fact]
    public async Task AFailureIsNotCached()
    {
        using var h = RoutingHarness.Start();
        h.Dns.Mx("flaky.test", 10, "mx.flaky.test").A("mx.flaky.test", "198.51.100.1").Fail("flaky.test", FakeDnsFailure.ServFail);
        Assert.False((await h.FailedAsync("flaky.test")).Permanent);

        h.Dns.Heal("flaky.test");

        Assert.Equal(["mx.flaky.test"], Names(await h.RemoteAsync("flaky.test")));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task CnameChainsAreFollowedForTheDomain(bool serverChases)
    {
        using var h = RoutingHarness.Start();
        h.Dns.ChaseCnames = serverChases;
        h.Dns.Cname("alias.test", "middle.test").Cname("middle.test", "real.test")
            .Mx("real.test", 10, "mx.real.test").A("mx.real.test", "198.51.100.1");

        RemoteRoute route = await h.RemoteAsync("alias.test");

        Assert.Equal(["mx.real.test"], Names(route));
        Assert.Equal(serverChases ? 0 : 1, h.Dns.Queries("real.test", "MX"));
    }

    [Fact]
    public async Task CnameIsFollowedForAnMxName()
    {
        using var h = RoutingHarness.Start();
        h.Dns.Mx("example.test", 10, "mail.example.test").Cname("mail.example.test", "host.provider.test").A("host.provider.test", "198.51.100.3");

        RemoteRoute route = await h.RemoteAsync("example.test");

        Assert.Equal([new NextHop("mail.example.test", IPAddress.Parse("198.51.100.3"), 25, 10)], route.Hops);
    }

    [Fact]
    public async Task CnameToAMissingNameIsNxDomain()
    {
        using var h = RoutingHarness.Start();
        h.Dns.Cname("dangling.test", "gone.test");

        RouteFailed failed = await h.FailedAsync("dangling.test");

        Assert.True(failed.Permanent, failed.Reason);
        Assert.Equal("5.1.2", failed.EnhancedCode);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ACnameLoopIsATemporaryFailure(bool serverChases)
    {
        using var h = RoutingHarness.Start();
        h.Dns.ChaseCnames = serverChases;
        h.Dns.Cname("loop1.test", "loop2.test").Cname("loop2.test", "loop3.test").Cname("loop3.test", "loop1.test");

        RouteFailed failed = await h.FailedAsync("loop1.test");

        Assert.False(failed.Permanent, failed.Reason);
        Assert.Equal((451, "4.4.3"), (failed.Code, failed.EnhancedCode));
        Assert.Contains("CNAME loop", failed.Reason);
    }

    [Fact]
    public async Task ACnameChainLongerThanTheLimitIsATemporaryFailure()
    {
        using var h = RoutingHarness.Start();
        h.Dns.ChaseCnames = false;
        for (int i = 0; i < 12; i++)
        {
            h.Dns.Cname($"c{i}.test", $"c{i + 1}.test");
        }

        h.Dns.Mx("c12.test", 10, "mx.c12.test").A("mx.c12.test", "198.51.100.1");

        RouteFailed failed = await h.FailedAsync("c0.test");

        Assert.False(failed.Permanent, failed.Reason);
        Assert.Contains("CNAME chain longer than 8", failed.Reason);
        Assert.Equal(["mx.c12.test"], Names(await h.RemoteAsync("c5.test")));
    }

    [Theory]
    [InlineData("192.0.2.1")]
    [InlineData("[192.0.2.1]")]
    public async Task AnMxPointingAtAnAddressLiteralIsIgnored(string literal)
    {
        using var h = RoutingHarness.Start();
        h.Dns.Mx("example.test", 10, literal).Mx("example.test", 20, "mx.example.test").A("mx.example.test", "198.51.100.1");

        Assert.Equal(["mx.example.test"], Names(await h.RemoteAsync("example.test")));
    }

    [Fact]
    public async Task OnlyAddressLiteralMxRecordsFailPermanently()
    {
        using var h = RoutingHarness.Start();
        h.Dns.Mx("literal.test", 10, "192.0.2.1");

        RouteFailed failed = await h.FailedAsync("literal.test");

        Assert.True(failed.Permanent, failed.Reason);
        Assert.Contains("points to IP address", failed.Reason);
    }

    [Fact]
    public async Task MxHostsFromOurselvesOnAreDroppedAndBetterOnesKept()
    {
        using var h = RoutingHarness.Start();
        h.Dns.Mx("example.test", 10, "primary.example.test").Mx("example.test", 20, "backup.example.test")
            .Mx("example.test", 20, "us.example.test").Mx("example.test", 30, "tertiary.example.test")
            .A("primary.example.test", "198.51.100.1").A("backup.example.test", "198.51.100.2")
            .A("us.example.test", RoutingHarness.OurAddress.ToString()).A("tertiary.example.test", "198.51.100.3");

        RemoteRoute route = await h.RemoteAsync("example.test");

        Assert.Equal(["primary.example.test"], Names(route));
    }

    [Theory]
    [InlineData("192.0.2.25")]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    public async Task WhenTheBestMxIsOurselvesMailWouldLoop(string address)
    {
        using var h = RoutingHarness.Start();
        if (address.Contains(':'))
        {
            h.Dns.Aaaa("us.example.test", address);
        }
        else
        {
            h.Dns.A("us.example.test", address);
        }

        h.Dns.Mx("example.test", 10, "us.example.test").Mx("example.test", 20, "backup.example.test").A("backup.example.test", "198.51.100.2");

        RouteFailed failed = await h.FailedAsync("example.test");

        Assert.True(failed.Permanent, failed.Reason);
        Assert.Equal((550, "5.4.6"), (failed.Code, failed.EnhancedCode));
        Assert.Contains("loops back to myself", failed.Reason);
    }

    [Fact]
    public async Task AnImplicitMxThatIsOurselvesLoops()
    {
        using var h = RoutingHarness.Start();
        h.Dns.A("self.test", RoutingHarness.OurAddress.ToString());

        RouteFailed failed = await h.FailedAsync("self.test");

        Assert.True(failed.Permanent, failed.Reason);
        Assert.Contains("loops back to myself", failed.Reason);
    }

    [Fact]
    public async Task MxHostsWithoutAddressesAreSkipped()
    {
        using var h = RoutingHarness.Start();
        h.Dns.Mx("example.test", 10, "gone.example.test").Mx("example.test", 20, "noaddr.example.test").Mx("example.test", 30, "ok.example.test")
            .Txt("noaddr.example.test").A("ok.example.test", "198.51.100.4");

        Assert.Equal(["ok.example.test"], Names(await h.RemoteAsync("example.test")));
    }

    [Fact]
    public async Task WhenNoMxHostHasAnAddressTheFailureIsTemporary()
    {
        using var h = RoutingHarness.Start();
        h.Dns.Mx("example.test", 10, "gone.example.test").Mx("example.test", 20, "noaddr.example.test").Txt("noaddr.example.test");

        RouteFailed failed = await h.FailedAsync("example.test");

        Assert.False(failed.Permanent, failed.Reason);
        Assert.Equal((451, "4.4.4"), (failed.Code, failed.EnhancedCode));
    }

    [Fact]
    public async Task AnMxHostWhoseLookupFailsIsSkippedAndTheRestUsed()
    {
        using var h = RoutingHarness.Start();
        h.Dns.IncludeAdditionals = false;
        h.Dns.Mx("example.test", 10, "sick.example.test").Mx("example.test", 20, "ok.example.test")
            .A("sick.example.test", "198.51.100.9").Fail("sick.example.test", FakeDnsFailure.ServFail).A("ok.example.test", "198.51.100.4");

        Assert.Equal(["ok.example.test"], Names(await h.RemoteAsync("example.test")));

        using var h2 = RoutingHarness.Start();
        h2.Dns.IncludeAdditionals = false;
        h2.Dns.Mx("example.test", 10, "sick.example.test").A("sick.example.test", "198.51.100.9").Fail("sick.example.test", FakeDnsFailure.ServFail);
        RouteFailed failed = await h2.FailedAsync("example.test");
        Assert.Equal((false, 451, "4.4.3"), (failed.Permanent, failed.Code, failed.EnhancedCode));
    }

    [Fact]
    public async Task TheSameAddressUnderTwoMxNamesIsTriedOnce()
    {
        using var h = RoutingHarness.Start();
        h.Dns.Mx("example.test", 10, "a.example.test").Mx("example.test", 20, "b.example.test")
            .A("a.example.test", "198.51.100.1").A("b.example.test", "198.51.100.1").A("b.example.test", "198.51.100.2");

        Assert.Equal(["198.51.100.1", "198.51.100.2"], Addresses(await h.RemoteAsync("example.test")));
    }

    [Fact]
    public async Task NamesAreCaseInsensitiveAndMayEndInADot()
    {
        using var h = RoutingHarness.Start();
        h.Dns.Mx("example.test", 10, "mx.example.test").A("mx.example.test", "198.51.100.1");

        Assert.Equal(["mx.example.test"], Names(await h.RemoteAsync("EXAMPLE.Test.")));
    }

    [Fact]
    public async Task InternationalDomainsAreAskedInTheirAsciiForm()
    {
        using var h = RoutingHarness.Start();
        h.Dns.Mx("xn--bcher-kva.test", 10, "mx.xn--bcher-kva.test").A("mx.xn--bcher-kva.test", "198.51.100.1");

        Assert.Equal(["mx.xn--bcher-kva.test"], Names(await h.RemoteAsync("bücher.test")));
    }

    [Fact]
    public async Task AnAddressLiteralDomainIsRoutedToThatAddress()
    {
        using var h = RoutingHarness.Start();

        RemoteRoute route = await h.RemoteAsync("[198.51.100.8]");

        Assert.Equal("ipliteral", route.RouteName);
        Assert.Equal([new NextHop("[198.51.100.8]", IPAddress.Parse("198.51.100.8"), 25, 0)], route.Hops);
        Assert.True((await h.FailedAsync("[192.0.2.25]")).Permanent);
        Assert.Equal(0, h.Dns.TotalQueries);
    }

    [Fact]
    public async Task AnAnswerTooLargeForUdpIsFetchedOverTcp()
    {
        using var h = RoutingHarness.Start();
        h.Dns.IncludeAdditionals = false;
        for (int i = 0; i < 200; i++)
        {
            h.Dns.Mx("big.test", 10 + i, $"mx{i:D3}.a-rather-long-label-to-fill-the-packet.big.test");
        }

        h.Dns.A("mx000.a-rather-long-label-to-fill-the-packet.big.test", "198.51.100.1");

        RemoteRoute route = await h.RemoteAsync("big.test");

        Assert.Equal(["mx000.a-rather-long-label-to-fill-the-packet.big.test"], Names(route));
        Assert.Equal(2, h.Dns.Queries("big.test", "MX"));
    }
}
