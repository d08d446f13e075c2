package demo;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;

/**
 * The Start-Class: an HTTP server on 8080 that answers every request with
 * what the container it runs in is like, so a test proves the image's
 * entrypoint, workdir and user by asking it.
 */
public class App {
    public static void main(String[] args) throws IOException {
        HttpServer s = HttpServer.create(new InetSocketAddress(8080), 0);
        s.createContext("/", ex -> {
            String body = "app=springboot\n"
                + "greeting=" + demo.lib.Greeting.hello() + "\n"
                + "uid=" + uid() + "\n"
                + "cwd=" + Paths.get("").toAbsolutePath() + "\n"
                + "command=" + System.getProperty("sun.java.command") + "\n"
                + "classpath=" + System.getProperty("java.class.path") + "\n"
                + "loader=" + App.class.getClassLoader().getName() + "\n"
                + "java=" + System.getProperty("java.specification.version") + "\n"
                + "method=" + ex.getRequestMethod() + "\n"
                + "uri=" + ex.getRequestURI() + "\n"
                + "host=" + ex.getRequestHeaders().getFirst("Host") + "\n";
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
            ex.sendResponseHeaders(200, b.length);
            try (OutputStream o = ex.getResponseBody()) {
                o.write(b);
            }
        });
        s.start();
        System.out.println("springboot: listening on 8080");
    }

    /** The real uid, from the kernel: Java has no call for it. */
    static String uid() throws IOException {
        for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
            if (line.startsWith("Uid:")) {
                return line.substring(4).trim().split("\\s+")[0];
            }
        }
        return "unknown";
    }
}
