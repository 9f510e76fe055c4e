using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace ContainerPS.Engine.Migration;

/// <summary>
/// The bulk data link of a move: one TCP connection from the source to the destination, every
/// frame sealed with AES-256-GCM under a key that only travelled through the remoting session
/// (so a stranger can neither read the container's memory nor inject into it). A frame is a
/// big-endian u32 length, a 12-byte nonce (a counter) and the sealed [part byte | data]; a
/// zero length ends the stream. The remoting session carries only control calls and the key.
/// </summary>
public static class MigrationChannel
{
    private const int NonceSize = 12, TagSize = 16, MaxFrame = 16 << 20;

    /// <summary>The source's end: seals and writes frames.</summary>
    public sealed class Sender : IDisposable
    {
        private readonly TcpClient client;
        private readonly Stream stream;
        private readonly AesGcm aes;
        private ulong counter;

        private Sender(TcpClient client, byte[] key)
        {
            this.client = client;
            stream = client.GetStream();
            aes = new AesGcm(key, TagSize);
        }

        /// <summary>Connects within <paramref name="timeout"/>, or returns null (a firewall, no route: the caller falls back to the session).</summary>
        public static Sender? TryConnect(string address, int port, byte[] key, TimeSpan timeout)
        {
            var client = new TcpClient { NoDelay = false };
            try
            {
                if (!client.ConnectAsync(address, port).Wait(timeout))
                {
                    client.Dispose();
                    return null;
                }
                return new Sender(client, key);
            }
            catch (AggregateException)
            {
                client.Dispose();
                return null;
            }
        }

        public void Send(byte part, ReadOnlySpan<byte> data)
        {
            var plain = new byte[data.Length + 1];
            plain[0] = part;
            data.CopyTo(plain.AsSpan(1));
            var frame = new byte[4 + NonceSize + plain.Length + TagSize];
            BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)(NonceSize + plain.Length + TagSize));
            var nonce = frame.AsSpan(4, NonceSize);
            BinaryPrimitives.WriteUInt64BigEndian(nonce[4..], ++counter);
            aes.Encrypt(nonce, plain, frame.AsSpan(4 + NonceSize, plain.Length), frame.AsSpan(4 + NonceSize + plain.Length, TagSize));
            stream.Write(frame);
        }

        /// <summary>The end frame; the receiver then has everything.</summary>
        public void Finish()
        {
            stream.Write(new byte[4]);
            stream.Flush();
        }

        public void Dispose()
        {
            aes.Dispose();
            client.Dispose();
        }
    }

    /// <summary>
    /// The destination's end: listens on one address, accepts one connection, opens every frame
    /// and hands [part, data] to <c>write</c>. <see cref="Completion"/> ends when the end frame
    /// arrived (or fails: a frame that does not open, a broken connection).
    /// </summary>
    public sealed class Receiver : IDisposable
    {
        private readonly TcpListener listener;
        private readonly byte[] key;
        private readonly Action<byte, ReadOnlyMemory<byte>> write;

        public Receiver(IPAddress address, Action<byte, ReadOnlyMemory<byte>> write)
        {
            key = RandomNumberGenerator.GetBytes(32);
            this.write = write;
            listener = new TcpListener(address, 0);
            listener.Start(1);
            Completion = Task.Run(Receive);
        }

        public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;
        public string Key => Convert.ToBase64String(key);
        public Task Completion { get; }

        private async Task Receive()
        {
            using var client = await listener.AcceptTcpClientAsync().ConfigureAwait(false);
            listener.Stop();
            using var stream = client.GetStream();
            using var aes = new AesGcm(key, TagSize);
            var header = new byte[4];
            ulong expected = 0;
            while (true)
            {
                await stream.ReadExactlyAsync(header).ConfigureAwait(false);
                var length = BinaryPrimitives.ReadUInt32BigEndian(header);
                if (length == 0)
                    return;
                if (length is < NonceSize + TagSize + 1 or > MaxFrame)
                    throw new InvalidDataException($"A migration frame of {length} bytes is not valid.");
                var frame = new byte[length];
                await stream.ReadExactlyAsync(frame).ConfigureAwait(false);
                var nonce = frame.AsMemory(0, NonceSize);
                if (BinaryPrimitives.ReadUInt64BigEndian(nonce.Span[4..]) != ++expected)
                    throw new InvalidDataException("Migration frames out of order.");
                var plain = new byte[length - NonceSize - TagSize];
                aes.Decrypt(nonce.Span, frame.AsSpan(NonceSize, plain.Length), frame.AsSpan(NonceSize + plain.Length, TagSize), plain); // throws on a forged frame
                write(plain[0], plain.AsMemory(1));
            }
        }

        public void Dispose()
        {
            listener.Stop();
            try { Completion.Wait(TimeSpan.FromSeconds(1)); }
            catch (AggregateException) { }
        }
    }
}
